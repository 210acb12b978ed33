// The playground's page: asks the local server (playground_server.py) to train and to
// explain, and draws what it answers. No library, no build step, nothing from the internet.
"use strict";

const NEG = [245, 147, 34];   // orange: a negative output (class 0)
const POS = [8, 119, 189];    // blue: a positive output (class 1)
const NODE = 40;              // a neuron's picture, in pixels
const BOX_W = 172, BOX_H = 46, COL_W = 230, ROW_H = 56;  // the graph's layout

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

const page = {
  options: null,     // /api/options
  settings: null,    // the run's settings, as the server checked them
  points: null,      // {train: [[x, y, label]], test: [...]}
  snap: null,        // the latest state: step, history, layers, maps
  playing: false,
  selected: { neuron: null, point: { split: "train", index: 0 } },
  graph: null,       // /api/graph's answer
  cursor: 0,         // how many of the graph's backward steps are applied
  requestId: 0,      // counts resets: an answer about an older run is dropped
  resetting: false,  // a reset is on its way
};

// ------------------------------------------------------------------ the server

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const answer = await response.json().catch(() => ({ error: `${response.status}` }));
  if (!response.ok) throw new Error(answer.error || `error ${response.status}`);
  return answer;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

// ---------------------------------------------------------------- the settings

function fillForm(options, settings) {
  for (const [id, choices] of [["dataset", options.datasets], ["activation", options.activations],
    ["loss", options.losses], ["optimizer", options.optimizers]]) {
    const select = $(id);
    if (!select.options.length) {
      for (const choice of choices) select.add(new Option(choice, choice));
    }
  }
  for (const key of ["dataset", "noise", "points", "train_percent", "seed", "activation", "loss",
    "optimizer", "learning_rate", "batch_size"]) {
    $(key).value = settings[key];
  }
  $("hidden").value = settings.hidden.join(", ");
  showRangeValues();
}

function showRangeValues() {
  $("noise-out").textContent = $("noise").value;
  $("train-out").textContent = $("train_percent").value;
}

// A number if the text is one, else the text itself: the server says what is wrong with it.
function numberOrText(text) {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) ? n : text;
}

function readForm() {
  const settings = {};
  for (const key of ["dataset", "activation", "loss", "optimizer"]) settings[key] = $(key).value;
  for (const key of ["noise", "points", "train_percent", "seed", "learning_rate", "batch_size"]) {
    settings[key] = numberOrText($(key).value);
  }
  settings.hidden = $("hidden").value.split(/[\s,]+/).filter((s) => s !== "").map(numberOrText);
  return settings;
}

// ------------------------------------------------------------------ training

// A new run from the form's settings. Until the server has made it, Play and Step wait:
// a step sent meanwhile would go to the run being replaced.
async function reset() {
  pause();
  const id = ++page.requestId;
  setResetting(true);
  try {
    const state = await api("/api/reset", readForm());
    if (id !== page.requestId) return;
    showError(null);
    adopt(state);
  } catch (error) {
    if (id === page.requestId) {
      showError(`${error.message} (the run goes on with its last good settings)`);
    }
  } finally {
    if (id === page.requestId) setResetting(false);
  }
}

function setResetting(on) {
  page.resetting = on;
  $("busy").textContent = on ? "compiling the step..." : "";
  $("play").disabled = $("step-train").disabled = on;
}

function adopt(state) {
  page.settings = state.settings;
  page.points = state.points;
  page.selected = { neuron: null, point: { split: "train", index: 0 } };
  page.graph = null;
  buildNetwork(state.settings.hidden);
  clearMath();
  update(state);
}

async function train(steps) {
  if (page.resetting) return;
  const id = page.requestId;  // a reset meanwhile makes this answer stale
  try {
    const snap = await api("/api/train", { steps });
    if (id !== page.requestId) return;
    update(snap);
    if (snap.diverged) {
      pause();
      showError(snap.diverged);
    }
  } catch (error) {
    pause();
    showError(error.message);
  }
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

async function play() {
  if (page.playing) return;
  page.playing = true;
  showError(null);
  $("play").innerHTML = "&#10074;&#10074; Pause";
  while (page.playing) {
    await train(Number($("speed").value));
    await nextFrame();
  }
}

function pause() {
  page.playing = false;
  $("play").innerHTML = "&#9654; Play";
}

// ------------------------------------------------------------------ drawing

function colour(v) {  // v in [-1, 1]: orange through white to blue
  const t = Math.min(1, Math.abs(v));
  const base = v < 0 ? NEG : POS;
  return base.map((c) => Math.round(255 + (c - 255) * t));
}

function decodeMap(text) {
  const bytes = atob(text);
  const out = new Int8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i) << 24 >> 24;
  return out;
}

// Paint a map (grid x grid values in [-127, 127], row 0 the bottom of the plane).
function paintMap(canvas, values, grid, fade = 0) {
  const small = document.createElement("canvas");
  small.width = small.height = grid;
  const context = small.getContext("2d");
  const image = context.createImageData(grid, grid);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const [r, g, b] = colour(values[row * grid + col] / 127).map(
        (c) => Math.round(c + (255 - c) * fade));
      const at = 4 * ((grid - 1 - row) * grid + col);
      image.data.set([r, g, b, 255], at);
    }
  }
  context.putImageData(image, 0, 0);
  const target = canvas.getContext("2d");
  target.imageSmoothingEnabled = true;
  target.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function inputMap(which, grid) {  // x1 or x2 over the plane, clipped to [-1, 1]
  const values = new Int8Array(grid * grid);
  const plane = page.snap ? page.snap.maps.plane : 1.6;
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const x = -plane + (2 * plane * (col + 0.5)) / grid;  // the cell's centre, as the
      const y = -plane + (2 * plane * (row + 0.5)) / grid;  // server's grid_points
      values[row * grid + col] = Math.round(127 * Math.max(-1, Math.min(1, which ? y : x)));
    }
  }
  return values;
}

// The columns of the network: the inputs, each hidden layer, the output.
function columns(hidden) { return [2, ...hidden, 1]; }

// Where a neuron's picture sits: columns spread over the width, each centred in height.
function nodePosition(column, index, sizes, width) {
  const gap = (width - NODE - 52) / (sizes.length - 1);
  const x = 32 + column * gap;
  const top = 28 + (Math.max(...sizes) - sizes[column]) * (NODE + 10) / 2;
  return [x, top + index * (NODE + 10)];
}

function buildNetwork(hidden) {
  const box = $("network");
  box.querySelectorAll(".neuron, .layer-label, .input-label, #loss-node")
    .forEach((e) => e.remove());
  const sizes = columns(hidden);
  const width = box.clientWidth || 480;
  box.style.height = `${Math.max(3, ...sizes) * (NODE + 10) + 80}px`;
  sizes.forEach((size, column) => {
    for (let index = 0; index < size; index++) {
      const [x, y] = nodePosition(column, index, sizes, width);
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = NODE;
      canvas.className = "neuron";
      canvas.style.left = `${x}px`;
      canvas.style.top = `${y}px`;
      if (column === 0) {
        canvas.title = index ? "input x2 (the vertical position)" : "input x1 (the horizontal position)";
        canvas.classList.add("input");
        canvas.style.cursor = "default";
        const name = document.createElement("div");
        name.className = "input-label";
        name.textContent = index ? "x2" : "x1";
        name.style.left = `${x - 22}px`;
        name.style.top = `${y + NODE / 2 - 9}px`;
        box.appendChild(name);
      } else {
        const layer = column - 1;
        canvas.dataset.layer = layer;
        canvas.dataset.index = index;
        canvas.title = column === sizes.length - 1 ? "the output score: click to see its math"
          : `layers.${layer} neuron ${index}: click to see its math`;
        canvas.addEventListener("click", () => selectNeuron({ layer, index }));
      }
      box.appendChild(canvas);
    }
    const label = document.createElement("div");
    label.className = "layer-label";
    const [x] = nodePosition(column, 0, sizes, width);
    label.style.left = `${x + NODE / 2 - 45}px`;
    label.style.top = "4px";
    label.textContent = column === 0 ? "inputs" : column === sizes.length - 1 ? "output"
      : `layers.${column - 1} (${size})`;
    box.appendChild(label);
  });
  const [x, y] = nodePosition(sizes.length - 1, 0, sizes, width);
  const loss = document.createElement("div");
  loss.id = "loss-node";
  loss.textContent = "loss";
  loss.title = "the loss on one point: click to see its math";
  loss.style.left = `${x - 4}px`;
  loss.style.top = `${y + NODE + 14}px`;
  loss.addEventListener("click", () => selectNeuron("loss"));
  box.appendChild(loss);
}

function drawNetwork(snap) {
  const grid = snap.maps.grid;
  const box = $("network");
  for (const canvas of box.querySelectorAll(".neuron.input")) {
    paintMap(canvas, inputMap(canvas.title.includes("x2"), grid), grid);
  }
  snap.maps.layers.forEach((layer, l) => {
    layer.forEach((text, index) => {
      const canvas = box.querySelector(`.neuron[data-layer="${l}"][data-index="${index}"]`);
      if (canvas) paintMap(canvas, decodeMap(text), grid);
    });
  });
  drawLinks(snap);
  markSelectedNeuron();
}

function drawLinks(snap) {
  const svg = $("links");
  svg.replaceChildren();
  const sizes = columns(page.settings.hidden);
  const width = $("network").clientWidth || 480;
  snap.layers.forEach((layer, l) => {
    layer.weights.forEach((row, j) => {
      row.forEach((w, i) => {
        const [x1, y1] = nodePosition(l, i, sizes, width);
        const [x2, y2] = nodePosition(l + 1, j, sizes, width);
        const line = document.createElementNS(SVG, "line");
        line.setAttribute("x1", x1 + NODE);
        line.setAttribute("y1", y1 + NODE / 2);
        line.setAttribute("x2", x2);
        line.setAttribute("y2", y2 + NODE / 2);
        const weight = w === null ? 0 : w;
        line.setAttribute("stroke", `rgb(${(weight < 0 ? NEG : POS).join(",")})`);
        line.setAttribute("stroke-width", Math.min(6, 0.4 + 1.6 * Math.abs(weight)).toFixed(2));
        line.setAttribute("stroke-opacity", 0.75);
        const title = document.createElementNS(SVG, "title");
        title.textContent = `layers.${l}.weight[${j}, ${i}] = ${format(weight)}`;
        line.appendChild(title);
        svg.appendChild(line);
      });
    });
  });
}

function markSelectedNeuron() {
  const chosen = page.selected.neuron;
  for (const canvas of $("network").querySelectorAll(".neuron")) {
    const on = chosen && chosen !== "loss" && Number(canvas.dataset.layer) === chosen.layer
      && Number(canvas.dataset.index) === chosen.index;
    canvas.classList.toggle("selected", Boolean(on));
  }
  $("loss-node").classList.toggle("selected", chosen === "loss");
}

// Plane coordinates to the boundary canvas's pixels, and back.
function toPixel(x, y, canvas) {
  const plane = page.snap.maps.plane;
  return [(x + plane) / (2 * plane) * canvas.width, (plane - y) / (2 * plane) * canvas.height];
}

function drawBoundary(snap) {
  const canvas = $("boundary");
  paintMap(canvas, decodeMap(snap.maps.boundary), snap.maps.boundary_grid, 0.35);
  const context = canvas.getContext("2d");
  const sets = $("show-test").checked ? ["train", "test"] : ["train"];
  for (const split of sets) {
    for (const [x, y, label] of page.points[split]) {
      const [px, py] = toPixel(x, y, canvas);
      context.beginPath();
      context.arc(px, py, 3.5, 0, 2 * Math.PI);
      context.fillStyle = `rgb(${(label ? POS : NEG).join(",")})`;
      context.fill();
      context.lineWidth = split === "train" ? 1 : 1.5;
      context.strokeStyle = split === "train" ? "#fff" : "#222";
      context.stroke();
    }
  }
  const { split, index } = page.selected.point;
  if (page.selected.neuron !== null && page.points[split][index]) {
    const [x, y] = page.points[split][index];
    const [px, py] = toPixel(x, y, canvas);
    context.beginPath();
    context.arc(px, py, 8, 0, 2 * Math.PI);
    context.lineWidth = 2.5;
    context.strokeStyle = "#d62728";
    context.stroke();
  }
}

// The training and test loss against the step; on a log scale when they span more than
// a factor of 100 (a loss that falls far, or a run that diverges).
function drawLossChart(history) {
  const canvas = $("loss-chart");
  const context = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 48, bottom = 18;
  context.clearRect(0, 0, w, h);
  const values = history.flatMap((e) => [e.train_loss, e.test_loss]).filter((v) => v !== null);
  const top = Math.max(1e-12, ...values);
  const least = Math.min(top, ...values.filter((v) => v > 0));
  const log = values.every((v) => v > 0) && top / least > 100;
  const low = log ? least : 0;
  const scale = (v) => (log ? Math.log(v / low) / Math.log(top / low) : v / top);
  const last = Math.max(1, history[history.length - 1].step);
  context.strokeStyle = "#ccc";
  context.strokeRect(left, 4, w - left - 4, h - bottom - 4);
  context.fillStyle = "#777";
  context.font = "11px sans-serif";
  context.textAlign = "right";
  context.fillText(axisNumber(top), left - 4, 14);
  context.fillText(log ? axisNumber(low) : "0", left - 4, h - bottom);
  if (log) context.fillText("log", left - 4, (h - bottom) / 2 + 4);
  context.fillText(`${last}`, w - 4, h - 4);
  context.textAlign = "left";
  context.fillText("step 0", left, h - 4);
  const x = (step) => left + (step / last) * (w - left - 4);
  const y = (v) => 4 + (1 - scale(v)) * (h - bottom - 4);
  for (const [key, stroke] of [["test_loss", "#e377c2"], ["train_loss", "#222"]]) {
    context.beginPath();
    let drawing = false;
    for (const entry of history) {
      if (entry[key] === null) { drawing = false; continue; }
      if (drawing) context.lineTo(x(entry.step), y(entry[key]));
      else context.moveTo(x(entry.step), y(entry[key]));
      drawing = true;
    }
    context.strokeStyle = stroke;
    context.lineWidth = 1.5;
    context.stroke();
  }
}

function axisNumber(v) {  // at most 6 characters
  return v >= 1e4 || v < 1e-3 ? v.toExponential(0) : String(Number(v.toPrecision(2)));
}

function format(v) {
  if (v === null || v === undefined) return "-";
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  return String(Number(v.toPrecision(4)));
}

function percent(v) { return v === null ? "-" : `${(100 * v).toFixed(1)}%`; }

function update(snap) {
  page.snap = snap;
  $("step-count").textContent = snap.step;
  $("epoch-count").textContent = snap.epoch.toFixed(1);
  const now = snap.history[snap.history.length - 1];
  $("train-loss").textContent = format(now.train_loss);
  $("test-loss").textContent = format(now.test_loss);
  $("train-accuracy").textContent = percent(now.train_accuracy);
  $("test-accuracy").textContent = percent(now.test_accuracy);
  drawNetwork(snap);
  drawBoundary(snap);
  drawLossChart(snap.history);
}

// ---------------------------------------------------------------- the math inside

function selectNeuron(neuron) {
  page.selected.neuron = neuron;
  markSelectedNeuron();
  drawBoundary(page.snap);
  loadGraph();
}

function pickPoint(event) {
  const canvas = $("boundary");
  const rect = canvas.getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  let best = null, bestDistance = 12 * 12;
  const sets = $("show-test").checked ? ["train", "test"] : ["train"];
  for (const split of sets) {
    page.points[split].forEach(([x, y], index) => {
      const [qx, qy] = toPixel(x, y, canvas);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d < bestDistance) { best = { split, index }; bestDistance = d; }
    });
  }
  if (!best) return;
  page.selected.point = best;
  if (page.selected.neuron === null) page.selected.neuron = "loss";
  markSelectedNeuron();
  drawBoundary(page.snap);
  loadGraph();
}

async function loadGraph() {
  pause();
  const request = { neuron: page.selected.neuron, point: page.selected.point };
  const id = page.requestId;
  try {
    const graph = await api("/api/graph", request);
    if (id !== page.requestId) return;
    page.graph = graph;
    page.cursor = 0;
    showError(null);
    drawGraph();
  } catch (error) {
    showError(error.message);
  }
}

function clearMath() {
  $("math-controls").hidden = true;
  $("graph-box").hidden = true;
  $("formula").textContent = "";
  $("graph").replaceChildren();
  $("math-title").textContent = "click a neuron or the loss, then a point";
}

// Columns by distance from the root (the root on the right); in each column, nodes
// ordered by where their users sit, so edges cross little.
function layout(graph) {
  const n = graph.nodes.length;
  const depth = new Array(n).fill(0);
  for (let id = n - 1; id >= 0; id--) {
    for (const parent of graph.nodes[id].parents) {
      depth[parent] = Math.max(depth[parent], depth[id] + 1);
    }
  }
  const users = Array.from({ length: n }, () => []);
  graph.nodes.forEach((node, id) => node.parents.forEach((p) => users[p].push(id)));
  const deepest = Math.max(...depth);
  const byDepth = Array.from({ length: deepest + 1 }, () => []);
  depth.forEach((d, id) => byDepth[d].push(id));
  const row = new Array(n).fill(0);
  byDepth.forEach((ids) => {
    const key = (id) => users[id].length
      ? users[id].reduce((s, u) => s + row[u], 0) / users[id].length : 0;
    ids.sort((a, b) => key(a) - key(b) || a - b);
    const start = -(ids.length - 1) / 2;
    ids.forEach((id, i) => { row[id] = start + i; });
  });
  const tallest = Math.max(...byDepth.map((ids) => ids.length));
  const position = depth.map((d, id) => [
    16 + (deepest - d) * COL_W,
    16 + ((tallest - 1) / 2 + row[id]) * ROW_H,
  ]);
  return { position, width: 32 + deepest * COL_W + BOX_W, height: 32 + tallest * ROW_H };
}

function drawGraph() {
  const graph = page.graph;
  const { position, width, height } = layout(graph);
  const svg = $("graph");
  svg.replaceChildren();
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const edges = document.createElementNS(SVG, "g");
  svg.appendChild(edges);
  graph.nodes.forEach((node, id) => {
    node.parents.forEach((parent, k) => {
      const [px, py] = position[parent];
      const [cx, cy] = position[id];
      const path = document.createElementNS(SVG, "path");
      const x1 = px + BOX_W, y1 = py + BOX_H / 2, x2 = cx, y2 = cy + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      path.setAttribute("class", "edge");
      path.dataset.edge = `${id}-${parent}-${k}`;
      path.dataset.from = id;
      path.dataset.to = parent;
      const title = document.createElementNS(SVG, "title");
      title.textContent = `local derivative d ${node.name} / d ${graph.nodes[parent].name}`
        + ` = ${format(node.locals[k])}`;
      path.appendChild(title);
      edges.appendChild(path);
    });
  });
  graph.nodes.forEach((node, id) => {
    const g = document.createElementNS(SVG, "g");
    const [x, y] = position[id];
    g.setAttribute("transform", `translate(${x},${y})`);
    g.dataset.node = id;
    const kind = id === graph.root ? "root" : node.op === "" ? (/^x[12]$/.test(node.name)
      ? "input" : "leaf") : "op";
    g.setAttribute("class", `node ${kind}`);
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", "box");
    rect.setAttribute("width", BOX_W);
    rect.setAttribute("height", BOX_H);
    rect.setAttribute("rx", 4);
    g.appendChild(rect);
    const lines = [
      [node.name.length > 24 ? `${node.name.slice(0, 23)}…` : node.name, "name"],
      [`${node.op || "leaf"}  data ${format(node.value)}`, "data"],
      ["grad 0", "grad"],
    ];
    lines.forEach(([text, cls], i) => {
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("x", 6);
      t.setAttribute("y", 13 + i * 14);
      t.setAttribute("class", cls);
      t.textContent = text;
      g.appendChild(t);
    });
    const title = document.createElementNS(SVG, "title");
    title.textContent = node.name;
    g.appendChild(title);
    svg.appendChild(g);
  });
  const chosen = page.selected.neuron;
  const target = chosen === "loss" ? "the loss"
    : chosen.layer === page.settings.hidden.length ? "the output score"
      : `neuron ${chosen.index} of layers.${chosen.layer}`;
  const p = graph.point;
  $("math-title").textContent = `${target} at ${p.split} point ${p.index} `
    + `(x1 = ${format(p.x)}, x2 = ${format(p.y)}, class ${p.label}), weights of step ${graph.step}`
    + ` · ${graph.nodes.length} nodes, ${graph.steps.length} edges`;
  $("math-controls").hidden = false;
  $("graph-box").hidden = false;
  showCursor();
}

// The graph as backward leaves it after `cursor` steps: the root holds the seed, each
// parent the `after` of the last step into it; the last step's edge is lit.
function showCursor() {
  const graph = page.graph;
  const total = graph.steps.length;
  const grads = new Array(graph.nodes.length).fill(0);
  grads[graph.root] = graph.seed;
  const done = new Set();
  for (let i = 0; i < page.cursor; i++) {
    const step = graph.steps[i];
    grads[step.parent] = step.after;
    done.add(`${step.node}-${step.parent}`);
  }
  const step = page.cursor > 0 ? graph.steps[page.cursor - 1] : null;
  const svg = $("graph");
  for (const g of svg.querySelectorAll("g.node")) {
    const id = Number(g.dataset.node);
    g.querySelector(".grad").textContent = `grad ${format(grads[id])}`;
    g.classList.toggle("sender", step !== null && id === step.node);
    g.classList.toggle("receiver", step !== null && id === step.parent);
  }
  let active = null;
  for (const path of svg.querySelectorAll("path.edge")) {
    const key = `${path.dataset.from}-${path.dataset.to}`;
    const on = step !== null && key === `${step.node}-${step.parent}`;
    path.classList.toggle("active", on);
    path.classList.toggle("done", done.has(key) && !on);
    if (on) active = path;
  }
  if (active) edges().appendChild(active);  // drawn last: on top of the others
  $("bw-cursor").textContent = `step ${page.cursor} of ${total}`;
  $("bw-back").disabled = $("bw-start").disabled = page.cursor === 0;
  $("bw-step").disabled = $("bw-end").disabled = page.cursor === total;
  labelEdge(active, step);
  explainStep(step);
  scrollToNode(step ? step.parent : graph.root);
}

// The active edge's local derivative, written at its middle.
function labelEdge(path, step) {
  const svg = $("graph");
  svg.querySelectorAll(".edge-label").forEach((e) => e.remove());
  if (!path) return;
  const middle = path.getPointAtLength(path.getTotalLength() / 2);
  const text = document.createElementNS(SVG, "text");
  text.setAttribute("class", "edge-label");
  text.setAttribute("x", middle.x);
  text.setAttribute("y", middle.y - 5);
  text.textContent = `× ${format(step.local)}`;
  svg.appendChild(text);
}

function edges() { return $("graph").querySelector("g"); }

function explainStep(step) {
  const graph = page.graph;
  const box = $("formula");
  box.replaceChildren();
  const line = (html) => {
    const div = document.createElement("div");
    div.append(...html);
    box.appendChild(div);
  };
  const code = (text, cls = "") => {
    const c = document.createElement("code");
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  };
  const rootName = graph.nodes[graph.root].name;
  if (step === null) {
    line([`Backward starts at ${rootName}: its gradient is the seed, `,
      code(`grad(${rootName}) = ${format(graph.seed)}`),
      `. Press Step: each step sends a gradient back along one edge, by formula 6.`]);
    line([code("grad(parent) += local × grad(node)", "rule"),
      ", where local = d node / d parent was computed in the forward pass."]);
    return;
  }
  const node = graph.nodes[step.node].name, parent = graph.nodes[step.parent].name;
  line([`Step ${page.cursor}: ${node} sends its gradient back to ${parent}, by formula 6 `,
    code(`grad(parent) += local × grad(node)`, "rule")]);
  line([code(`grad(${parent}) = ${format(step.before)} + ${format(step.local)} × `
    + `${format(step.arriving)} = ${format(step.after)}`),
    `   where local = d ${node} / d ${parent} = ${format(step.local)}, `
    + "computed in the forward pass"]);
  line(["the engine's own line: ", code(step.text, "engine")]);
}

function scrollToNode(id) {
  const g = $("graph").querySelector(`g.node[data-node="${id}"]`);
  const box = $("graph-box");
  const [x, y] = g.getAttribute("transform").match(/-?[\d.]+/g).map(Number);
  if (y < box.scrollTop || y + BOX_H > box.scrollTop + box.clientHeight) {
    box.scrollTop = y - box.clientHeight / 2;
  }
  if (x < box.scrollLeft || x + BOX_W > box.scrollLeft + box.clientWidth) {
    box.scrollLeft = x - box.clientWidth / 2;
  }
}

function moveCursor(to) {
  if (!page.graph) return;
  page.cursor = Math.max(0, Math.min(page.graph.steps.length, to));
  showCursor();
}

// ------------------------------------------------------------------ wiring

async function start() {
  try {
    page.options = await api("/api/options");
    const state = await api("/api/state");
    fillForm(page.options, state.settings);
    adopt(state);
  } catch (error) {
    showError(`cannot reach the playground's server: ${error.message}`);
    return;
  }
  $("play").addEventListener("click", () => (page.playing ? pause() : play()));
  $("step-train").addEventListener("click", () => { pause(); train(1); });
  $("reset").addEventListener("click", reset);
  $("new-seed").addEventListener("click", () => {
    $("seed").value = Math.floor(Math.random() * 100000);
    reset();
  });
  for (const id of ["dataset", "noise", "points", "train_percent", "seed", "hidden", "activation",
    "loss", "optimizer", "learning_rate", "batch_size"]) {
    $(id).addEventListener("change", reset);
  }
  for (const id of ["noise", "train_percent"]) $(id).addEventListener("input", showRangeValues);
  $("show-test").addEventListener("change", () => drawBoundary(page.snap));
  $("boundary").addEventListener("click", pickPoint);
  $("bw-start").addEventListener("click", () => moveCursor(0));
  $("bw-back").addEventListener("click", () => moveCursor(page.cursor - 1));
  $("bw-step").addEventListener("click", () => moveCursor(page.cursor + 1));
  $("bw-end").addEventListener("click", () => moveCursor(page.graph.steps.length));
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
