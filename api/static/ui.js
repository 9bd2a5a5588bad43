// The person page: plain DOM code, no library. The API key lives in sessionStorage.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { person: null, picked: [], cursor: null };

function apiKey() { return sessionStorage.getItem("databank-key") || ""; }

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${apiKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("Content-Type") || "";
  const payload = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const fields = payload.errors ? " " + Object.entries(payload.errors)
      .map(([k, v]) => `${k}: ${v}`).join("; ") : "";
    throw new Error(`${payload.title || response.status}: ${payload.detail || ""}${fields}`);
  }
  return payload;
}

function say(text, error = false) {
  const el = $("#message");
  el.textContent = text;
  el.className = error ? "error" : "";
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function identifierOf(node) {
  const doc = { kind: node.kind, value: node.value };
  if (node.scope) doc.scope = node.scope;
  return doc;
}

async function checkKey() {
  document.body.classList.remove("is-admin");
  if (!apiKey()) return;
  try {
    const me = await call("GET", "/ui/key");
    document.body.classList.toggle("is-admin", me.scopes.includes("admin"));
  } catch (err) { say(err.message, true); }
}

async function lookup(event) {
  event.preventDefault();
  const typed = $("#person-id-input").value.trim();
  try {
    if (typed) return await showPerson(typed);
    if (!$("#kind").value.trim()) return say("Give a kind and a value, or a person id.", true);
    const identifier = { kind: $("#kind").value.trim(), value: $("#value").value };
    if ($("#scope").value.trim()) identifier.scope = $("#scope").value.trim();
    const found = await call("POST", "/v1/resolve", { identifiers: [identifier] });
    await showPerson(found.person_id);
  } catch (err) { say(err.message, true); }
}

async function showPerson(personId) {
  const person = await call("GET", `/v1/persons/${encodeURIComponent(personId)}`);
  state.person = person;
  state.picked = [];
  $("#person").hidden = false;
  $("#person-id").textContent = person.person_id;
  $("#aliases").textContent = person.aliases.length ? `aliases: ${person.aliases.join(", ")}` : "";
  renderIdentifiers(person.identifiers);
  renderProfile(person);
  $("#evidence").textContent = "";
  $("#explain").textContent = "";
  await Promise.all([renderGraph(person.person_id), renderHistory(person.person_id, true)]);
  say(`Person ${person.person_id}: ${person.identifiers.length} identifiers`);
}

function renderIdentifiers(identifiers) {
  const body = $("#identifiers tbody");
  body.replaceChildren();
  identifiers.forEach((identifier, n) => {
    const row = body.insertRow();
    const tick = document.createElement("input");
    tick.type = "checkbox";
    tick.className = "admin split-pick";
    tick.dataset.index = n;
    row.insertCell().append(tick);
    cell(row, identifier.kind);
    cell(row, identifier.scope);
    cell(row, identifier.value, "value");
    cell(row, identifier.last_seen);
    const unbind = document.createElement("button");
    unbind.type = "button";
    unbind.textContent = "Unbind";
    unbind.className = "unbind";
    unbind.addEventListener("click", () => doUnbind(identifier));
    const td = row.insertCell();
    td.className = "admin";
    td.append(unbind);
  });
}

function renderProfile(person) {
  const traits = $("#traits tbody");
  traits.replaceChildren();
  for (const [name, trait] of Object.entries(person.traits)) {
    const row = traits.insertRow();
    cell(row, name); cell(row, JSON.stringify(trait.value)); cell(row, trait.source);
    cell(row, trait.updated_at);
  }
  $("#tags").textContent = Object.entries(person.tags)
    .map(([tag, seen]) => `${tag} (${seen.count})`).join(", ") || "none";
  const channels = $("#channels tbody");
  channels.replaceChildren();
  for (const [name, seen] of Object.entries(person.channels)) {
    const row = channels.insertRow();
    cell(row, name); cell(row, `${seen.count}×`); cell(row, seen.first_seen);
    cell(row, seen.last_seen);
  }
}

async function renderGraph(personId) {
  const svg = await call("GET", `/ui/persons/${encodeURIComponent(personId)}/graph.svg`);
  const holder = $("#graph");
  // Our own server rendered this SVG with every value escaped.
  holder.innerHTML = svg;
  holder.querySelectorAll(".edge").forEach((edge) =>
    edge.addEventListener("click", () => showEvidence(edge)));
  holder.querySelectorAll(".node").forEach((node) =>
    node.addEventListener("click", () => pick(node)));
}

function showEvidence(edge) {
  document.querySelectorAll(".edge.selected").forEach((e) => e.classList.remove("selected"));
  edge.classList.add("selected");
  const evidence = JSON.parse(edge.dataset.evidence);
  const box = $("#evidence");
  box.replaceChildren();
  const title = document.createElement("h4");
  title.textContent = `Link ${evidence.source} — ${evidence.target}`;
  const list = document.createElement("ul");
  for (const [key, value] of Object.entries(evidence)) {
    const li = document.createElement("li");
    li.textContent = `${key}: ${Array.isArray(value) ? value.join(", ") : value}`;
    list.append(li);
  }
  box.append(title, list);
}

async function pick(node) {
  const id = node.dataset.id;
  if (state.picked.length === 2) {
    state.picked = [];
    document.querySelectorAll(".node.picked").forEach((n) => n.classList.remove("picked"));
  }
  state.picked.push(id);
  node.classList.add("picked");
  if (state.picked.length === 2) await explain(...state.picked);
  else $("#explain").textContent = `From ${id}: now click a second identifier.`;
}

async function explain(fromId, toId) {
  const byId = Object.fromEntries(state.person.identifiers.map((i) => [nodeId(i), i]));
  const box = $("#explain");
  box.replaceChildren();
  document.querySelectorAll(".edge.on-path").forEach((e) => e.classList.remove("on-path"));
  try {
    const answer = await call("POST", `/v1/persons/${state.person.person_id}/explain`,
      { from: identifierOf(byId[fromId]), to: identifierOf(byId[toId]) });
    const title = document.createElement("h4");
    title.textContent = `Why ${fromId} and ${toId} are one person`;
    const steps = document.createElement("ol");
    steps.id = "explain-steps";
    for (const link of answer.links) {
      const li = document.createElement("li");
      li.className = "step";
      li.textContent = `${link.source} — ${link.target}: seen together ${link.count}× ` +
        `(${link.channels.join(", ") || "no channel"}), first message ` +
        `${link.first_message_id || "-"}, first ${link.first_seen}`;
      li.addEventListener("click", () => showEvidence(document.getElementById(`edge-${link.link_id}`)));
      steps.append(li);
      const edge = document.getElementById(`edge-${link.link_id}`);
      if (edge) edge.classList.add("on-path");
    }
    box.append(title, steps);
  } catch (err) { box.textContent = err.message; }
}

function nodeId(identifier) {
  return identifier.scope ? `${identifier.kind}@${identifier.scope}:${identifier.value}`
    : `${identifier.kind}:${identifier.value}`;
}

async function renderHistory(personId, fresh) {
  if (fresh) { $("#history").replaceChildren(); state.cursor = null; }
  const query = state.cursor ? `?cursor=${state.cursor}` : "";
  const page = await call("GET", `/v1/persons/${encodeURIComponent(personId)}/history${query}`);
  for (const entry of page.items) {
    const li = document.createElement("li");
    const action = document.createElement("span");
    action.className = "action";
    action.textContent = entry.action;
    li.append(action, ` ${entry.at} by ${entry.trigger}: ${entry.reason}`);
    if (entry.details) li.append(` ${JSON.stringify(entry.details)}`);
    $("#history").append(li);
  }
  state.cursor = page.next_cursor;
  $("#more-history").hidden = !page.next_cursor;
}

async function doUnbind(identifier) {
  if (!confirm(`Unbind ${nodeId(identifier)} from this person?`)) return;
  try {
    await call("POST", "/v1/identifiers/unbind", { identifier: identifierOf(identifier) });
    await showPerson(state.person.person_id);
    say(`Unbound ${nodeId(identifier)}.`);
  } catch (err) { say(err.message, true); }
}

async function doSplit() {
  const picked = [...document.querySelectorAll(".split-pick:checked")]
    .map((box) => identifierOf(state.person.identifiers[Number(box.dataset.index)]));
  if (!picked.length) return say("Tick the identifiers that belong to someone else.", true);
  try {
    const result = await call("POST", `/v1/persons/${state.person.person_id}/split`,
      { identifiers: picked });
    await showPerson(state.person.person_id);
    say(`Split off ${result.new_person_id} (${result.links_cut} links cut); ` +
      "the two persons are now held apart.");
  } catch (err) { say(err.message, true); }
}

document.addEventListener("DOMContentLoaded", () => {
  const keyInput = $("#api-key");
  keyInput.value = apiKey();
  keyInput.addEventListener("change", () => {
    sessionStorage.setItem("databank-key", keyInput.value.trim());
    checkKey();
  });
  $("#lookup").addEventListener("submit", lookup);
  $("#split").addEventListener("click", doSplit);
  $("#more-history").addEventListener("click",
    () => renderHistory(state.person.person_id, false).catch((e) => say(e.message, true)));
  checkKey();
});
