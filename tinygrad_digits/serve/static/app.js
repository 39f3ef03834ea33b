// The page: draw on #pad, send it to POST /predict as PNG while drawing and after each stroke,
// show the answer, the input as the network receives it, the activations, and (after a pause)
// the computation graph from POST /graph. Plain JavaScript, no libraries, no network beyond
// this server.
"use strict";

const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const statusLine = document.getElementById("status");
const INK_WIDTH = 18;        // at 280 px, strokes like a felt pen: what the training digits look like
const LIVE_EVERY_MS = 120;   // while a stroke is drawn, ask at most this often
const GRAPH_AFTER_MS = 350;  // the graph is slower to draw: ask once the hand rests

let drawing = false, last = null, blank = true;
let asked = 0, shown = 0, inFlight = false, pending = false, lastAsk = 0, graphTimer = null;
let graphAsked = 0;

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", Boolean(isError));
}

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  blank = true;
  shown = asked;  // answers still on their way are for the old drawing
  document.getElementById("prediction").textContent = "–";
  drawBars(null);
  document.getElementById("activations").replaceChildren();
  document.getElementById("graph").replaceChildren();
  paintImage(document.getElementById("input-view"), null);
  say("Draw a digit with the mouse, a pen or a finger.");
}

function where(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
          (event.clientY - box.top) * pad.height / box.height];
}

function stroke(from, to) {
  ink.strokeStyle = "#000";
  ink.lineWidth = INK_WIDTH;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(from[0], from[1]);
  ink.lineTo(to[0], to[1]);
  ink.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  last = where(event);
  stroke(last, last);
  blank = false;
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const here = where(event);
  stroke(last, here);
  last = here;
  if (performance.now() - lastAsk > LIVE_EVERY_MS) askCanvas();
});
function endStroke() {
  if (!drawing) return;
  drawing = false;
  askCanvas();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
document.getElementById("clear").addEventListener("click", clearPad);

document.getElementById("upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  try {
    const picture = await createImageBitmap(file);
    const scale = Math.min(pad.width / picture.width, pad.height / picture.height);
    const w = picture.width * scale, h = picture.height * scale;
    clearPad();
    ink.drawImage(picture, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    blank = false;
  } catch (error) {
    // the browser cannot show it; the server may still read it, and will say so if not
  }
  ask(file, file.type || "application/octet-stream");
});

// body[data-predicting] says whether an answer is still on its way ("yes") or not ("no").
function askCanvas() {
  if (blank) return;
  document.body.dataset.predicting = "yes";
  if (inFlight) { pending = true; return; }
  pad.toBlob((png) => ask(png, "image/png"), "image/png");
}

async function ask(body, type) {
  const id = ++asked;
  inFlight = true;
  document.body.dataset.predicting = "yes";
  lastAsk = performance.now();
  try {
    const answer = await post("/predict", body, type);
    if (id > shown) { shown = id; show(answer); }
    clearTimeout(graphTimer);
    graphTimer = setTimeout(() => askGraph(body, type), GRAPH_AFTER_MS);
  } catch (error) {
    say(error.message, true);
  } finally {
    inFlight = false;
    if (pending) { pending = false; askCanvas(); } else document.body.dataset.predicting = "no";
  }
}

async function post(path, body, type) {
  const response = await fetch(path, { method: "POST", body, headers: { "Content-Type": type } });
  let answer;
  try { answer = await response.json(); } catch (e) { answer = { error: response.statusText }; }
  if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

function show(answer) {
  const p = answer.probabilities[answer.prediction];
  document.getElementById("prediction").textContent =
    `${answer.label} (${(100 * p).toFixed(1)}%)`;
  drawBars(answer);
  paintImage(document.getElementById("input-view"), answer.input);
  drawActivations(answer.activations);
  say(`Read as ${answer.label}. Keep drawing, or Clear to start again.`);
}

function drawBars(answer) {
  const bars = document.getElementById("bars");
  const classes = answer ? answer.classes : (window.modelInfo ? window.modelInfo.classes : []);
  bars.replaceChildren(...classes.map((label, k) => {
    const p = answer ? answer.probabilities[k] : 0;
    const row = document.createElement("div");
    row.className = "bar-row" + (answer && k === answer.prediction ? " best" : "");
    row.dataset.class = label;
    row.innerHTML = `<span class="label"></span><span class="track"><span class="fill"></span></span>` +
      `<span class="value"></span>`;
    row.querySelector(".label").textContent = label;
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".value").textContent = answer ? `${(100 * p).toFixed(1)}%` : "";
    return row;
  }));
}

// Grey image, 0 black .. 1 white: the input as the network receives it.
function paintImage(canvas, rows) {
  const c = canvas.getContext("2d");
  if (!rows) { c.fillStyle = "#000"; c.fillRect(0, 0, canvas.width, canvas.height); return; }
  const h = rows.length, w = rows[0].length;
  canvas.width = w; canvas.height = h;
  const picture = c.createImageData(w, h);
  rows.forEach((row, y) => row.forEach((v, x) => {
    const g = Math.round(255 * Math.max(0, Math.min(1, v))), i = 4 * (y * w + x);
    picture.data.set([g, g, g, 255], i);
  }));
  c.putImageData(picture, 0, 0);
}

// Signed values: blue for positive, red for negative, white for zero, scaled by the largest |v|.
function paintSigned(canvas, rows) {
  const h = rows.length, w = rows[0].length;
  const top = Math.max(1e-12, ...rows.flat().map(Math.abs));
  canvas.width = w; canvas.height = h;
  const c = canvas.getContext("2d"), picture = c.createImageData(w, h);
  rows.forEach((row, y) => row.forEach((v, x) => {
    const t = Math.min(1, Math.abs(v) / top), i = 4 * (y * w + x);
    const fade = Math.round(255 * (1 - t));
    picture.data.set(v >= 0 ? [fade, fade, 255 - Math.round(80 * t), 255]
                            : [255 - Math.round(60 * t), fade, fade, 255], i);
  }));
  c.putImageData(picture, 0, 0);
}

function drawActivations(layers) {
  const box = document.getElementById("activations");
  const blocks = layers.map((layer) => {
    const block = document.createElement("div");
    block.className = "layer";
    const title = document.createElement("h3");
    block.append(title);
    if (layer.kind === "strip") {
      title.textContent = `${layer.name}: ${layer.values.length} units`;
      const strip = document.createElement("canvas");
      strip.className = "strip";
      paintSigned(strip, [layer.values]);
      block.append(strip);
    } else {
      const shown = layer.values.length;
      title.textContent = `${layer.name}: ${shown === layer.channels ? "" : `first ${shown} of `}` +
        `${layer.channels} channels`;
      const maps = document.createElement("div");
      maps.className = "maps";
      layer.values.forEach((channel) => {
        const map = document.createElement("canvas");
        paintSigned(map, channel);
        maps.append(map);
      });
      block.append(maps);
    }
    return block;
  });
  box.replaceChildren(...blocks);
}

async function askGraph(body, type) {
  const id = ++graphAsked;
  const message = document.getElementById("graph-message");
  try {
    const answer = await post("/graph", body, type);
    if (id !== graphAsked) return;
    const graph = document.getElementById("graph");
    if (answer.svg) {
      graph.innerHTML = answer.svg.slice(answer.svg.indexOf("<svg"));
      message.textContent = "Each box shows the values this input produced there.";
    } else {
      graph.replaceChildren();
      message.textContent = answer.message;
    }
  } catch (error) {
    message.textContent = `The graph could not be drawn: ${error.message}`;
  }
}

fetch("/info").then((r) => r.json()).then((info) => {
  window.modelInfo = info;
  document.getElementById("model").textContent =
    `${info.model.toUpperCase()} · ${info.architecture} · reads ${info.side}×${info.side} images`;
  document.getElementById("activations-title").textContent = info.model === "cnn"
    ? "Inside the network: the first layer's feature maps"
    : "Inside the network: each hidden layer's activations";
  if (!info.dot_available) {
    document.getElementById("graph-message").textContent =
      "Graphviz's dot program is not installed on the server, so the graph cannot be drawn. " +
      "Install Graphviz (e.g. apt-get install graphviz) and restart serve.";
  }
  drawBars(null);
}).catch(() => say("Cannot reach the server.", true));

clearPad();
