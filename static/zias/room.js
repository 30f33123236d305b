// The live room page: render the snapshot, apply changes in place, reconnect with backoff
// and take a fresh snapshot after reconnecting. No libraries, nothing from a CDN.
(function () {
  "use strict";
  const cfg = window.ZIAS_ROOM;
  let state = JSON.parse(document.getElementById("initial-state").textContent);
  const LABELS = {
    present: "Present", late: "Late", not_arrived: "Not yet arrived", left: "Left",
    left_early: "Left early", absent: "Absent", excused: "Excused",
  };

  // Wall-clock times in the school's zone (settings.TIME_ZONE), whatever the browser's zone
  // and whatever offset the server sent.
  const clock = new Intl.DateTimeFormat("en-GB", {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: cfg.timeZone});
  function fmtTime(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    return isNaN(moment) ? iso : clock.format(moment);
  }

  // What a teacher should read for one enrolled student right now.
  function displayStatus(entry, session) {
    const record = entry.record;
    // A teacher's correction is the answer, whatever the doors say.
    if (record && (record.manual || record.status === "excused")) return record.status;
    if (entry.inside) return record && record.status === "late" ? "late" : "present";
    if (record && record.first_seen) return record.status === "left_early" ? "left_early" : "left";
    if (session && session.ended) return "absent";
    if (record && record.status === "absent" && session && session.ended) return "absent";
    return "not_arrived";
  }

  // Students ticked for a roll call; kept across the re-renders every live message causes.
  const picked = new Set();

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // What put a student in the room: a door tap, or their phone hearing its beacons.
  function sourceTag(source) {
    return el("span", {class: `source source-${source}`, "data-source": source}, `source: ${source}`);
  }

  function renderRoster() {
    const tbody = document.querySelector("#roster tbody");
    tbody.replaceChildren();
    const session = state.session;
    document.getElementById("no-session").hidden = !!session;
    document.getElementById("roster").hidden = !session;
    document.getElementById("roll-call").hidden = !session;
    const line = document.getElementById("session-line");
    line.textContent = session
      ? `${session.course} ${session.course_name} · ${fmtTime(session.starts_at)}–${fmtTime(session.ends_at)}` +
        (session.running ? " · running" : session.ended ? " · ended" : " · next")
      : "";
    if (!session) return;
    const template = document.getElementById("correct-form");
    for (const entry of state.roster) {
      const status = displayStatus(entry, session);
      const row = el("tr", {"data-student": entry.student});
      const pick = el("input", {type: "checkbox", name: "pick", value: entry.student, "aria-label": `Select ${entry.name}`});
      pick.checked = picked.has(entry.student);
      pick.addEventListener("change", () => { if (pick.checked) picked.add(entry.student); else picked.delete(entry.student); });
      const pickCell = el("td");
      pickCell.append(pick);
      const who = el("td");
      who.append(el("strong", {}, entry.name), " ", el("span", {class: "muted"}, entry.student));
      const badge = el("span", {class: `status status-${status}`, "data-status": status}, LABELS[status]);
      const statusCell = el("td");
      statusCell.append(badge);
      if (entry.inside && entry.source) statusCell.append(" ", sourceTag(entry.source));
      if (entry.record && entry.record.manual && entry.record.computed_status !== entry.record.status) {
        statusCell.append(el("div", {class: "muted"}, `evidence says: ${LABELS[entry.record.computed_status] || entry.record.computed_status}`));
      }
      const flags = (entry.record && entry.record.flags) || [];
      const form = template.content.cloneNode(true);
      form.querySelector("input[name=session]").value = session.id;
      form.querySelector("input[name=student]").value = entry.student;
      const summary = form.querySelector("summary");
      summary.textContent = "Correct";
      summary.append(el("span", {class: "visually-hidden"}, ` ${entry.name}`));
      const correctCell = el("td");
      correctCell.append(form);
      row.append(pickCell, who, statusCell, el("td", {}, fmtTime(entry.record && entry.record.first_seen)),
        el("td", {}, flags.join(", ")), correctCell);
      tbody.append(row);
    }
  }

  function renderAside() {
    document.getElementById("count").textContent = state.count;
    const visitors = document.getElementById("visitors");
    visitors.replaceChildren(...state.visitors.map((p) => {
      const item = el("li", {"data-student": p.student}, `${p.name} (${p.student}) since ${fmtTime(p.since)} `);
      if (p.source) item.append(sourceTag(p.source));
      return item;
    }));
    if (!state.visitors.length) visitors.append(el("li", {class: "muted"}, "Nobody."));
    const flags = document.getElementById("flags");
    flags.replaceChildren();
    if (!state.flags.length) flags.append(el("p", {class: "muted"}, "None."));
    for (const flag of state.flags) {
      const box = el("div", {class: "flag"});
      box.append(el("strong", {}, `⚠ ${flag.label}`), el("div", {}, `${flag.student || ""} ${fmtTime(flag.at)} ${flag.detail}`));
      const evidence = el("details");
      evidence.append(el("summary", {}, "Evidence"), el("pre", {}, JSON.stringify(flag.evidence, null, 1)));
      box.append(evidence);
      flags.append(box);
    }
  }

  function render() { renderRoster(); renderAside(); }

  function rosterEntry(number) { return state.roster.find((e) => e.student === number); }

  function apply(message) {
    switch (message.type) {
      case "snapshot":
        delete message.type;
        state = message;
        break;
      case "entered": {
        state.present = state.present.filter((p) => p.student !== message.student);
        state.present.push({student: message.student, name: message.name, since: message.since, source: message.source});
        const entry = rosterEntry(message.student);
        if (entry) {
          entry.inside = true;
          entry.source = message.source;
          if (entry.record && !entry.record.first_seen) entry.record.first_seen = message.since;
          if (!entry.record) entry.record = {status: "present", first_seen: message.since, flags: [], manual: false};
        } else state.visitors = state.present.filter((p) => !rosterEntry(p.student));
        state.count = state.present.length;
        break;
      }
      case "left": {
        state.present = state.present.filter((p) => p.student !== message.student);
        state.visitors = state.visitors.filter((p) => p.student !== message.student);
        const entry = rosterEntry(message.student);
        if (entry) { entry.inside = false; entry.source = null; }
        state.count = state.present.length;
        break;
      }
      case "status": {
        const entry = rosterEntry(message.student);
        if (entry) {
          entry.record = Object.assign({flags: [], first_seen: null, manual: false}, entry.record || {}, {status: message.status});
        }
        break;
      }
      case "marked":  // a person's marks (a roll call): shown as such, whatever the doors say
        if (!state.session || message.session !== state.session.id) return;
        for (const mark of message.marks) {
          const entry = rosterEntry(mark.student);
          if (!entry) continue;
          const before = entry.record || {flags: [], first_seen: null, computed_status: "absent"};
          entry.record = Object.assign({}, before, {status: mark.status, manual: true});
        }
        break;
      case "count":
        state.count = message.count;
        break;
      default:
        return;
    }
    render();
  }

  let delay = 1000;
  function setLive(s, text) {
    const live = document.getElementById("live");
    live.dataset.state = s;
    live.textContent = text;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${cfg.wsPath}`);
    socket.onopen = () => { delay = 1000; setLive("live", "Live"); };
    socket.onmessage = (e) => apply(JSON.parse(e.data));
    socket.onclose = (e) => {
      if (e.code === 4403 || e.code === 4404) { setLive("offline", "Not allowed to watch this room."); return; }
      setLive("offline", `Reconnecting in ${Math.round(delay / 1000)} s…`);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);  // back off, but keep trying
    };
  }

  // Roll call: a JSON POST (with the CSRF token); the answer is applied here at once, and
  // the room's other pages hear it over their WebSocket.
  const rollCall = document.getElementById("roll-call");
  const rollCallResult = document.getElementById("roll-call-result");
  async function sendRollCall(body) {
    if (!state.session) return;
    rollCallResult.textContent = "Saving…";
    rollCallResult.className = "";
    let answer;
    try {
      const response = await fetch(cfg.rollCallUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": rollCall.querySelector("[name=csrfmiddlewaretoken]").value},
        body: JSON.stringify(Object.assign({session: state.session.id, reason: rollCall.reason.value}, body)),
      });
      answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
      if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
    } catch (error) {
      rollCallResult.textContent = `Not saved: ${error.message}.`;
      rollCallResult.className = "error";
      return;
    }
    picked.clear();
    apply({type: "marked", session: state.session.id, marks: answer.marked});
    const n = answer.marked.length;
    rollCallResult.textContent = n ? `Marked ${n} student${n === 1 ? "" : "s"}: ${answer.marked.map((m) => `${(rosterEntry(m.student) || {}).name || m.student} ${LABELS[m.status]}`).join(", ")}.` : "Nobody to mark.";
  }
  rollCall.addEventListener("submit", (event) => {
    event.preventDefault();
    const status = rollCall.status.value;
    sendRollCall({marks: [...picked].map((student) => ({student, status}))});
  });
  document.getElementById("mark-not-arrived").addEventListener("click", () => sendRollCall({not_arrived: true}));

  render();
  connect();
})();
