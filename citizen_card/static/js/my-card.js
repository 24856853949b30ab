// /my-card: the form is sent with fetch, so the page can tell how it went. A PDF is saved
// as a download and the page says so, with no old error left on it; a refusal (wrong or
// used code, too many tries) replaces the page's content with the server's answer, and
// its error summary takes the focus. Without this script the form posts as usual.
(function () {
  "use strict";

  function filename(response) {
    const header = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : "card.pdf";
  }

  function save(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function setup(root) {
    const form = root.querySelector("form");
    const done = root.querySelector("[data-download-done]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.setAttribute("aria-disabled", "true");
      let response;
      try {
        response = await fetch(form.action, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
        });
      } catch (err) {
        button.removeAttribute("aria-disabled");
        form.submit();  // the network failed: let the browser try and say so itself
        return;
      }
      button.removeAttribute("aria-disabled");
      const type = response.headers.get("Content-Type") || "";
      if (response.ok && type.startsWith("application/pdf")) {
        const name = filename(response);
        save(await response.blob(), name);
        // The success state: the old problems go, the fields are cleared of the used code.
        const summary = root.querySelector("[data-error-summary]");
        if (summary) { summary.remove(); }
        root.querySelectorAll(".field-error").forEach((el) => el.classList.remove("field-error"));
        root.querySelectorAll(".error-message").forEach((el) => el.remove());
        root.querySelectorAll("[aria-invalid]").forEach((el) => {
          el.removeAttribute("aria-invalid");
          el.setAttribute("aria-describedby", el.id + "-hint");
        });
        form.elements.code.value = "";
        done.querySelector("p").textContent = done.dataset.msgDone.replace("{file}", name);
        done.hidden = false;
        done.focus();
        return;
      }
      const text = await response.text();
      const page = new DOMParser().parseFromString(text, "text/html");
      const fresh = page.querySelector("[data-my-card]");
      if (!fresh) { form.submit(); return; }  // not the form's answer: let the browser show it
      document.title = page.title;
      root.replaceWith(fresh);
      setup(fresh);
      const summary = fresh.querySelector("[data-error-summary]");
      if (summary) { summary.focus(); }
    });
  }

  document.querySelectorAll("[data-my-card]").forEach(setup);
})();
