// The /scan desk page: a camera (BarcodeDetector, else the vendored jsQR on canvas
// frames) and a text field for USB scanners, which type the QR text and press Enter.
// Each scan is verified with the same module as /v and the field is ready again at once.

import { Verifier } from "./credential.js";
import { VerdictView, readConfig, registerServiceWorker } from "./verdict.js";

const config = readConfig();
const view = new VerdictView(document.getElementById("verdict"), config);
const verifier = new Verifier(config.urls, { expectedBase: config.expected_base });
const form = document.getElementById("scan-form");
const input = document.getElementById("scan-input");
const cameraButton = document.getElementById("camera-toggle");
const cameraStatus = document.getElementById("camera-status");
const video = document.getElementById("camera-video");
// The same card held in front of the camera is checked once, not ten times a second.
const REPEAT_QUIET_MS = 3000;
const FRAME_INTERVAL_MS = 150;
const MAX_FRAME_WIDTH = 640;

let checking = Promise.resolve();
let lastText = null;
let lastTextAt = 0;

function verifyText(text) {
  checking = checking.then(async () => {
    view.showPending();
    performance.mark("card-verify-start");
    try {
      view.show(await verifier.verify(text));
    } catch {
      view.showUnable("offline");
    } finally {
      performance.measure("card-verify", "card-verify-start");
    }
    document.body.dataset.scans = String(Number(document.body.dataset.scans ?? 0) + 1);
  });
  return checking;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  input.value = "";
  input.focus();
  if (text) verifyText(text);
});

// --- camera -------------------------------------------------------------------------

let stream = null;
let timer = null;

function setCameraStatus(key) {
  cameraStatus.textContent = config.strings.camera[key];
}

async function loadJsQr() {
  if (globalThis.jsQR) return globalThis.jsQR;
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = config.urls.decoder;
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
  return globalThis.jsQR;
}

async function makeDetector() {
  if ("BarcodeDetector" in globalThis) {
    try {
      const formats = await globalThis.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
        return async () => (await detector.detect(video))[0]?.rawValue ?? null;
      }
    } catch {
      // fall through to jsQR
    }
  }
  const jsQR = await loadJsQr();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async () => {
    if (!video.videoWidth) return null;
    const scale = Math.min(1, MAX_FRAME_WIDTH / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "attemptBoth" })?.data ?? null;
  };
}

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    setCameraStatus("unsupported");
    return;
  }
  setCameraStatus("starting");
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    setCameraStatus("denied");
    input.focus();
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play().catch(() => {});
  cameraButton.setAttribute("aria-pressed", "true");
  setCameraStatus("scanning");
  const detect = await makeDetector();
  const tick = async () => {
    if (!stream) return;
    let text = null;
    try {
      text = await detect();
    } catch {
      // A frame that cannot be read is skipped.
    }
    const now = Date.now();
    if (text && (text !== lastText || now - lastTextAt > REPEAT_QUIET_MS)) {
      lastText = text;
      lastTextAt = now;
      await verifyText(text);
    } else if (text) {
      lastTextAt = now;
    }
    timer = setTimeout(tick, FRAME_INTERVAL_MS);
  };
  tick();
  input.focus();
}

function stopCamera() {
  clearTimeout(timer);
  for (const track of stream?.getTracks() ?? []) track.stop();
  stream = null;
  video.srcObject = null;
  video.hidden = true;
  cameraButton.setAttribute("aria-pressed", "false");
  setCameraStatus("stopped");
  input.focus();
}

cameraButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));

// Load keys now, so the first scan is as quick as the next ones.
verifier.refresh().catch(() => {});
view.showIdle();
input.focus();
registerServiceWorker(config);
