// The inbox page: one column per citizen, ZNS template cards and OA chat bubbles, live.
// Polls /_sim/messages (new messages, and again those whose delivery receipt is still open) and
// /_sim/typed (what citizens typed). Every value is set with textContent: template data comes from
// agencies and must never become markup.
"use strict";

const LABELS = {
  ten_nguoi_dan: "Người nhận",
  ma_ho_so: "Mã hồ sơ",
  trang_thai: "Trạng thái",
  don_vi: "Cơ quan",
  ngay_hen_tra: "Hẹn trả",
};
const BODY_KEYS = new Set(["noi_dung"]);
const POLL_MS = 1000;

const messages = new Map(); // seq -> message view
const typed = []; // {user_id, text, at, after}
let nextOffset = 0;
let typedOffset = 0;
let lastRender = "";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function clock(ms) {
  const d = new Date(ms);
  const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: "Asia/Ho_Chi_Minh" };
  return d.toLocaleTimeString("vi-VN", opts); // Vietnam time, as the citizen's phone shows it
}

function recipientOf(m) {
  if (m.phone) return { key: "p:" + m.phone, kind: "phone", id: m.phone };
  if (m.hash_phone) return { key: "h:" + m.hash_phone, kind: "hash", id: m.hash_phone };
  return { key: "u:" + (m.user_id || m.recipient || "?"), kind: "user", id: m.user_id || m.recipient || "?" };
}

function showPhone(p) {
  const local = p.startsWith("84") ? "0" + p.slice(2) : p;
  return local.replace(/^(\d{4})(\d{3})(\d+)$/, "$1 $2 $3");
}

function dossierOf(m) {
  const data = m.template_data || {};
  if (data.ma_ho_so) return String(data.ma_ho_so);
  const found = (m.text || "").match(/\b\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-[\w-]+/i);
  return found ? found[0] : "";
}

function receiptNode(m) {
  const r = m.receipt;
  if (!r) return el("span", "receipt delivered", "✓ Đã gửi");
  if (r.status !== "delivered") return el("span", "receipt sent", "✓ Đã gửi · chờ nhận");
  let text = "✓✓ Đã nhận " + clock(r.delivery_time);
  let cls = "receipt delivered";
  if (r.webhook === "posted") text += " · đã báo webhook";
  else if (r.webhook === "waiting") text += " · đang báo webhook";
  else if (r.webhook === "failed") {
    text += " · webhook không nhận";
    cls = "receipt failed";
  }
  return el("span", cls, text);
}

function card(m) {
  const data = m.template_data || {};
  const alert = !data.ma_ho_so && (m.template_id || "").includes("alert");
  const node = el("article", "card" + (alert ? " alert" : ""));
  const oa = el("div", "oa");
  oa.append(el("b", null, m.oa_id), el("span", null, "· ZNS"), el("span", "badge", m.template_id || "template"));
  node.append(oa);
  node.append(el("h3", null, alert ? "Cảnh báo khu vực" : data.trang_thai || "Thông báo hồ sơ"));
  const rows = el("dl");
  for (const [key, value] of Object.entries(data)) {
    if (BODY_KEYS.has(key) || value === null || value === "") continue;
    rows.append(el("dt", null, LABELS[key] || key.replace(/_/g, " ")), el("dd", null, value));
  }
  if (rows.childElementCount) node.append(rows);
  for (const key of BODY_KEYS) {
    if (data[key]) node.append(el("p", "body", data[key]));
  }
  if (data.ma_ho_so) node.append(el("span", "button", "Xem chi tiết hồ sơ"));
  return node;
}

function bubble(text, cls) {
  return el("div", "bubble" + (cls ? " " + cls : ""), text);
}

function entries() {
  const out = [];
  for (const m of messages.values()) {
    out.push({ at: m.received_at, order: [m.seq, 1, 0], who: recipientOf(m), dossier: dossierOf(m), m });
  }
  typed.forEach((t, i) => {
    const m = { user_id: t.user_id, text: t.text };
    out.push({ at: t.at, order: [t.after, 0, i], who: recipientOf(m), dossier: dossierOf(m), typed: t });
  });
  // Arrival order at the simulator, not timestamps: a line and the answer to it can share a millisecond,
  // and a shifted simulator clock can make a later message look older. A line typed when `after` messages
  // had been accepted goes just before message number `after`.
  out.sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1] || a.order[2] - b.order[2]);
  return out;
}

function render() {
  const filter = document.getElementById("filter").value.trim().toLowerCase();
  const all = entries();
  const key = filter + "|" + all.length + "|" + JSON.stringify([...messages.values()].map((m) => m.receipt));
  if (key === lastRender) return;
  lastRender = key;
  const byWho = new Map();
  for (const e of all) {
    if (filter && !e.dossier.toLowerCase().includes(filter)) continue;
    if (!byWho.has(e.who.key)) byWho.set(e.who.key, { who: e.who, items: [], name: "" });
    const col = byWho.get(e.who.key);
    col.items.push(e);
    const name = e.m && e.m.template_data && e.m.template_data.ten_nguoi_dan;
    if (name) col.name = name;
  }
  const columns = document.getElementById("columns");
  columns.replaceChildren();
  let delivered = 0;
  let zbs = 0;
  let shown = 0;
  for (const col of byWho.values()) {
    const section = el("section", "column");
    section.dataset.recipient = col.who.id;
    const head = el("header");
    const label = col.who.kind === "phone" ? "SĐT " + showPhone(col.who.id) : col.who.kind === "hash" ? "# " + col.who.id.slice(0, 12) + "…" : "Zalo user " + col.who.id;
    const title = col.name || (col.who.kind === "user" ? "Người dùng Zalo" : "Công dân");
    head.append(el("div", "avatar", title.trim().split(/\s+/).pop().slice(0, 1).toUpperCase()));
    const who = el("div", "who");
    who.append(el("div", "name", title), el("div", "id", label));
    head.append(who);
    const thread = el("div", "thread");
    for (const e of col.items) {
      const item = el("div", "msg");
      if (e.typed) {
        item.classList.add("user");
        item.append(bubble(e.typed.text));
        const meta = el("div", "meta");
        meta.append(el("span", null, clock(e.at)));
        item.append(meta);
      } else {
        const m = e.m;
        shown += 1;
        item.dataset.seq = m.seq;
        if (m.template_id || m.template_data) item.append(card(m));
        else item.append(bubble(m.text || "", "oa"));
        const meta = el("div", "meta");
        meta.append(el("span", null, clock(m.received_at)), receiptNode(m));
        item.append(meta);
        if (m.receipt) {
          zbs += 1;
          if (m.receipt.status === "delivered") delivered += 1;
        }
      }
      thread.append(item);
    }
    section.append(head, thread);
    columns.append(section);
    thread.scrollTop = thread.scrollHeight; // newest at the bottom, in view, as in a chat
  }
  document.getElementById("empty").hidden = byWho.size > 0;
  document.getElementById("summary").textContent =
    `${byWho.size} người nhận · ${shown} tin từ OA · ZNS đã nhận ${delivered}/${zbs}` +
    (filter ? ` · lọc: ${filter}` : "");
}

async function poll() {
  try {
    let from = nextOffset;
    for (const m of messages.values()) {
      const open = m.receipt && (m.receipt.status !== "delivered" || m.receipt.webhook === "waiting");
      if (open && m.seq < from) from = m.seq;
    }
    for (;;) {
      const page = await (await fetch(`/_sim/messages?offset=${from}&limit=1000`)).json();
      for (const m of page.messages) messages.set(m.seq, m);
      from += page.messages.length;
      nextOffset = Math.max(nextOffset, from);
      if (page.messages.length < 1000) break;
    }
    const got = await (await fetch(`/_sim/typed?offset=${typedOffset}`)).json();
    typed.push(...got.typed);
    typedOffset += got.typed.length;
    render();
  } catch (err) {
    document.getElementById("summary").textContent = "mất kết nối với simulator: " + err;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.getElementById("filter").addEventListener("input", () => {
  lastRender = "";
  render();
});
const fromUrl = new URLSearchParams(location.search).get("ho_so");
if (fromUrl) document.getElementById("filter").value = fromUrl;
poll();
