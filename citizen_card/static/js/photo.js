// Counter webcam capture: live preview with a framing guide, take and retake.
// The captured frame is put into the form's file input, so the same server path
// handles webcam frames and chosen files.
(function () {
  "use strict";
  const ASPECT = 35 / 45;

  function setup(root) {
    const video = root.querySelector(".photo-video");
    const guide = root.querySelector(".photo-guide");
    const canvas = root.querySelector(".photo-canvas");
    const start = root.querySelector(".photo-start");
    const take = root.querySelector(".photo-take");
    const retake = root.querySelector(".photo-retake");
    const input = root.querySelector("input[type=file]");
    const status = root.querySelector(".photo-status");
    let stream = null;

    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.DataTransfer) {
      start.hidden = true;
      return;
    }

    function show(el, visible) { el.hidden = !visible; }

    // While the camera starts, focus stays on the button that started it (marked busy,
    // not disabled: a disabled button drops the focus). Only once the first frame is
    // there does "Take photo" appear and take the focus, so a keyboard user can press it.
    let opening = false;
    async function open(from) {
      if (opening) { return; }
      opening = true;
      from.setAttribute("aria-disabled", "true");
      status.textContent = root.dataset.msgStarting;
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 1280 }, height: { ideal: 960 }, facingMode: "user" },
          audio: false,
        });
      } catch (err) {
        opening = false;
        from.removeAttribute("aria-disabled");
        show(start, true); show(retake, false);
        status.textContent = root.dataset.msgNoCamera;
        return;
      }
      video.addEventListener("loadeddata", () => {
        opening = false;
        from.removeAttribute("aria-disabled");
        show(start, false); show(retake, false); show(take, true);
        take.disabled = false;
        take.focus();
        status.textContent = root.dataset.msgLive;
      }, { once: true });
      video.srcObject = stream;
      show(video, true); show(guide, true); show(canvas, false);
    }

    function stop() {
      if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    }

    function capture() {
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) { return; }
      // Crop the centre to 35:45, as the server will; what the clerk sees is what prints.
      let cw = w, ch = Math.round(w / ASPECT);
      if (ch > h) { ch = h; cw = Math.round(h * ASPECT); }
      canvas.width = cw; canvas.height = ch;
      canvas.getContext("2d").drawImage(video, (w - cw) / 2, (h - ch) / 2, cw, ch, 0, 0, cw, ch);
      canvas.toBlob((blob) => {
        const file = new File([blob], "webcam.jpg", { type: "image/jpeg" });
        const transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        dropKept();
        status.textContent = root.dataset.msgReady;
      }, "image/jpeg", 0.92);
      stop();
      show(video, false); show(guide, false); show(canvas, true);
      show(take, false); show(retake, true);
      retake.focus();
    }

    // A photo kept from a refused try goes once another is taken or chosen.
    function dropKept() {
      const kept = root.querySelector("[data-photo-kept]");
      if (kept) { kept.remove(); }
    }

    start.addEventListener("click", () => open(start));
    take.addEventListener("click", capture);
    retake.addEventListener("click", () => { input.value = ""; open(retake); });
    input.addEventListener("change", () => { if (input.files.length) { dropKept(); } });
    window.addEventListener("pagehide", stop);
  }

  document.querySelectorAll("[data-photo-capture]").forEach(setup);
})();
