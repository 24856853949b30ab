// The /scan desk page: a camera (BarcodeDetector, else the vendored jsQR on canvas
// frames) and a text field for USB scanners, which type the QR text and press Enter.
// Each scan is verified with the same module as /v and the field is ready again at once.
//
// At a desk one verdict must never stand in for the next person's: each verdict says
// at what time it was made, and is cleared after the policy's delay or at the next scan,
// leaving no name in the page. While shown, it takes the place of the camera picture.

import { Verifier } from "./credential.js";
import { VerdictView, readConfig, registerServiceWorker } from "./verdict.js";

const config = readConfig();
const { policy } = config;
const verifier = new Verifier(config.urls, {
  expectedBase: config.expected_base,
  statusMaxAge: policy.status_max_age_seconds,
});
const form = document.getElementById("scan-form");
const input = document.getElementById("scan-input");
const stage = document.getElementById("scan-stage");
const cameraButton = document.getElementById("camera-toggle");
const cameraStatus = document.getElementById("camera-status");
const video = document.getElementById("camera-video");
const feedbackBox = document.getElementById("scan-feedback");
// The same card held in front of the camera is checked once, not ten times a second.
const REPEAT_QUIET_MS = 3000;
const FRAME_INTERVAL_MS = 150;
const MAX_FRAME_WIDTH = 640;
const FEEDBACK_KEY = "citizen-card-scan-feedback";

let checking = Promise.resolve();
let lastText = null;
let lastTextAt = 0;
let shownText = null; // the text behind the verdict on screen, for "Check again"
let clearTimer = null;

const view = new VerdictView(document.getElementById("verdict"), config, {
  showCheckedAt: true,
  onCheckAgain: () => {
    if (shownText === null) return;
    verifier.forgetStatus();
    verifyText(shownText);
  },
});

function focusField() {
  // Without scrolling: on a small screen the verdict above must stay in view.
  input.focus({ preventScroll: true });
}

function clearVerdict() {
  clearTimeout(clearTimer);
  shownText = null;
  view.showReady("idle");
  stage.dataset.showing = "none";
}

function verifyText(text) {
  checking = checking.then(async () => {
    clearTimeout(clearTimer);
    view.showPending();
    stage.dataset.showing = "verdict";
    performance.mark("card-verify-start");
    let result = null;
    try {
      result = await verifier.verify(text);
      view.show(result);
    } catch {
      view.showOffline();
    } finally {
      performance.measure("card-verify", "card-verify-start");
    }
    shownText = text;
    clearTimer = setTimeout(clearVerdict, policy.verdict_clear_seconds * 1000);
    signal(result);
    document.body.dataset.scans = String(Number(document.body.dataset.scans ?? 0) + 1);
    focusField();
  });
  return checking;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  input.value = "";
  focusField();
  if (text) verifyText(text);
});

// A USB scanner types wherever the focus is. When it is not in a field (after a click
// on the camera button, say), the first key brings it back, and the key lands there.
document.addEventListener("keydown", (event) => {
  if (event.target === input || event.ctrlKey || event.metaKey || event.altKey) return;
  // Fields that take text keep their keys; buttons and check boxes do not need them.
  if (event.target.matches?.("textarea, select, input:not([type=checkbox], [type=radio])")) return;
  if (event.key.length === 1 && event.key !== " ") focusField();
});

// --- sound and vibration, off unless chosen on this device --------------------------

let audio = null;

function feedbackOn() {
  return localStorage.getItem(FEEDBACK_KEY) === "on";
}

feedbackBox.checked = feedbackOn();
feedbackBox.addEventListener("change", () => {
  localStorage.setItem(FEEDBACK_KEY, feedbackBox.checked ? "on" : "off");
  if (feedbackBox.checked) audio ??= new AudioContext(); // created on a click: allowed to play
});

// One high beep for valid; two low ones for "do not accept"; one long for the rest.
const SIGNALS = {
  valid: { tones: [[880, 0.12]], vibrate: [120] },
  not_valid: { tones: [[330, 0.15], [330, 0.15]], vibrate: [250, 100, 250] },
  other: { tones: [[520, 0.35]], vibrate: [400] },
};

function signalFor(result) {
  if (result?.reason === "ok") return SIGNALS.valid;
  if (!result || result.reason === "status_unknown" || result.reason === "malformed") return SIGNALS.other;
  return SIGNALS.not_valid;
}

function signal(result) {
  if (!feedbackOn()) return;
  const { tones, vibrate } = signalFor(result);
  navigator.vibrate?.(vibrate);
  try {
    audio ??= new AudioContext();
    audio.resume();
    let start = audio.currentTime;
    for (const [frequency, seconds] of tones) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.value = 0.2;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + seconds);
      start += seconds + 0.08;
    }
  } catch {
    // No audio output here: the words and colours say it all anyway.
  }
}

// --- camera -------------------------------------------------------------------------

let stream = null;
let timer = null;

function setCameraStatus(key) {
  cameraStatus.textContent = config.strings.camera[key];
}

function setCameraButton(on) {
  // The label says what the button will do; it changes with the state, so it carries
  // no aria-pressed (a toggle's label must not change).
  cameraButton.textContent = config.strings.camera[on ? "stop" : "start"];
  cameraButton.dataset.camera = on ? "on" : "off";
  stage.dataset.camera = on ? "on" : "off";
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
    focusField();
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play().catch(() => {});
  setCameraButton(true);
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
  focusField();
}

function stopCamera() {
  clearTimeout(timer);
  for (const track of stream?.getTracks() ?? []) track.stop();
  stream = null;
  video.srcObject = null;
  video.hidden = true;
  setCameraButton(false);
  setCameraStatus("stopped");
  focusField();
}

cameraButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));

// Load keys now, so the first scan is as quick as the next ones.
verifier.refresh().catch(() => {});
view.showReady("idle");
focusField();
registerServiceWorker(config);
