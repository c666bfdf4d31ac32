// failoverd status page: reads the JSON API (/v1/...) and redraws itself
// every REFRESH_MS. When the API wants a token, the page asks for it once and
// keeps it in sessionStorage; a token can also be handed over in the URL
// fragment (/#token=...), which never reaches the server and is removed from
// the address bar at once.
"use strict";
(function () {
  const TOKEN_KEY = "failoverd.token";
  const REFRESH_MS = 10000;
  const EVENTS_WINDOW_MS = 24 * 3600 * 1000;
  const MAX_EVENTS = 50;
  const SVG = "http://www.w3.org/2000/svg";
  // Services are read a page at a time (GET /v1/services?limit=&after=&q=):
  // at 100,000 services the whole list, with one detail request per
  // service, would never finish. ?limit=, ?after= and ?q= in the address
  // choose the page size, the page and the search, so a view can be linked to.
  const PAGE_SIZE = 50;
  const view = { q: "", limit: PAGE_SIZE, after: [""], next: "" };   // after: the cursor of every page up to this one

  class AuthError extends Error {}

  function takeTokenFromFragment() {
    const m = /^#token=(.+)$/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  async function api(path) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const resp = await fetch(path, { headers, cache: "no-store" });
    if (resp.status === 401) throw new AuthError("unauthorized");
    const body = await resp.json();
    if (!resp.ok) throw new Error((body && body.error) || "HTTP " + resp.status);
    return body;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function statusClass(s) {
    return "status-" + String(s || "unk").toLowerCase().replace(/[^a-z0-9_-]/g, "");
  }

  function badge(s) {
    return el("span", { class: "badge " + statusClass(s), "data-status": s || "unk" }, s || "unk");
  }

  function rtt(v) {
    return v === null || v === undefined ? "–" : (v * 1000).toFixed(1) + " ms";
  }

  function when(t) {
    return t ? t.replace("T", " ").replace("Z", " UTC") : "–";
  }

  // chart draws an address's response-time history as a small SVG line;
  // failed rounds are red dots on the base line.
  function chart(history) {
    const w = 110, h = 26, pad = 3;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const base = document.createElementNS(SVG, "line");
    base.setAttribute("class", "base");
    base.setAttribute("x1", 0); base.setAttribute("x2", w);
    base.setAttribute("y1", h - pad); base.setAttribute("y2", h - pad);
    svg.append(base);
    const pts = history || [];
    if (pts.length === 0) return svg;
    const max = Math.max(1e-6, ...pts.map((p) => p.rtt_seconds || 0));
    const x = (i) => pts.length === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (pts.length - 1);
    const y = (v) => h - pad - (v / max) * (h - 2 * pad);
    let d = "";
    pts.forEach((p, i) => {
      if (p.rtt_seconds === null || p.rtt_seconds === undefined) {
        const c = document.createElementNS(SVG, "circle");
        c.setAttribute("class", "down");
        c.setAttribute("cx", x(i).toFixed(1)); c.setAttribute("cy", h - pad); c.setAttribute("r", 2);
        svg.append(c);
        d += " ";
        return;
      }
      d += (d === "" || d.endsWith(" ") ? "M" : "L") + x(i).toFixed(1) + "," + y(p.rtt_seconds).toFixed(1);
    });
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("class", "line");
    path.setAttribute("d", d.trim().replace(/ +/g, " ") || "M0,0");
    const title = document.createElementNS(SVG, "title");
    title.textContent = pts.map((p) => `${when(p.time)} ${p.status} ${rtt(p.rtt_seconds)}`).join("\n");
    svg.append(path, title);
    return svg;
  }

  function serviceCard(d) {
    const card = el("article", { class: "service " + statusClass(d.status), "data-fqdn": d.fqdn },
      el("h3", {}, el("span", { class: "fqdn" }, d.fqdn), el("span", { class: "kind" }, d.kind), badge(d.status),
        el("span", { class: "meta" }, d.active ? "active" : "inactive"),
        d.live_record_state ? el("span", { class: "meta" }, d.live_record_state) : null));
    for (const r of d.regions || []) {
      const rows = (r.entries || []).map((e) =>
        el("tr", { "data-address": e.address },
          el("td", {}, e.address), el("td", {}, e.label || ""), el("td", {}, e.weight), el("td", {}, e.serve_mode),
          el("td", {}, badge(e.status), e.removed ? el("span", { class: "removed" }, " removed") : null),
          el("td", {}, rtt(e.rtt_seconds)), el("td", {}, chart(e.history)),
          el("td", { class: "sites" }, ...(e.sites || []).map((s) =>
            el("span", { class: "site-view", "data-site": s.site, title: s.message || "" }, s.site, " ", badge(s.status)))),
          el("td", { class: "msg" }, e.message || "")));
      card.append(el("div", { class: "region", "data-region": r.code },
        el("div", { class: "region-head" }, el("strong", {}, r.code), badge(r.status),
          el("span", { class: "served" }, (r.served || []).join(", ") || "nothing served")),
        el("table", {},
          el("thead", {}, el("tr", {}, ...["address", "label", "weight", "mode", "status", "rtt", "history", "sites", "message"].map((h) => el("th", {}, h)))),
          el("tbody", {}, ...rows))));
    }
    return card;
  }

  function clusterBlock(c, reals) {
    const div = el("div", { class: "cluster", "data-cluster": c.name }, el("h3", {}, c.name));
    for (const s of c.services || []) {
      const list = reals[c.name + "/" + s.name] || [];
      div.append(el("div", { class: "region" },
        el("div", { class: "region-head" }, el("strong", {}, s.name), el("span", { class: "served" }, s.fqdn + " (" + s.protocol + ")")),
        el("table", {},
          el("thead", {}, el("tr", {}, ...["real service", "address", "weight", "enabled", "fallback", "status"].map((h) => el("th", {}, h)))),
          el("tbody", {}, ...list.map((r) => el("tr", { "data-real": r.name },
            el("td", {}, r.name), el("td", {}, r.ip_address + ":" + r.port), el("td", {}, r.weight),
            el("td", {}, r.enabled ? "yes" : "no"), el("td", {}, r.fallback ? "yes" : "no"), el("td", {}, badge(r.status))))))));
    }
    return div;
  }

  function readViewFromURL() {
    const p = new URLSearchParams(location.search);
    view.q = p.get("q") || "";
    const n = parseInt(p.get("limit") || "", 10);
    view.limit = n >= 1 && n <= 1000 ? n : PAGE_SIZE;
    // A linked page starts after its cursor; "previous" then goes to the first page.
    view.after = p.get("after") ? ["", p.get("after")] : [""];
  }

  function servicesPath() {
    const q = new URLSearchParams({ limit: String(view.limit) });
    const after = view.after[view.after.length - 1];
    if (after) q.set("after", after);
    if (view.q) q.set("q", view.q);
    return "/v1/services?" + q.toString();
  }

  async function load() {
    const page = await api(servicesPath());
    const list = page.services || [];
    view.next = page.next || "";
    const start = new Date(Date.now() - EVENTS_WINDOW_MS).toISOString().replace(/\.\d+Z$/, "Z");
    const details = await Promise.all(list.map((s) => api("/v1/services/" + encodeURIComponent(s.fqdn))));
    const logs = await Promise.all(list.map((s) =>
      api("/v1/services/" + encodeURIComponent(s.fqdn) + "/log?start=" + encodeURIComponent(start))
        .then((r) => (r.events || []).map((e) => Object.assign({ fqdn: s.fqdn }, e)))
        .catch(() => [])));
    const clusters = (await api("/v1/clusters")).clusters || [];
    const reals = {};
    await Promise.all(clusters.flatMap((c) => (c.services || []).map((s) =>
      api("/v1/clusters/" + encodeURIComponent(c.name) + "/services/" + encodeURIComponent(s.name) + "/real_services")
        .then((r) => { reals[c.name + "/" + s.name] = r.real_services || []; })
        .catch(() => {}))));
    // A server without a deployment view (404) shows none; a single node
    // is one site.
    const sites = await api("/v1/sites").catch((e) => { if (e instanceof AuthError) throw e; return null; });
    return { details, events: logs.flat(), clusters, reals, sites };
  }

  // renderSites shows the deployment: whether this node reaches etcd, the
  // leader, and every live site.
  function renderSites(v) {
    const head = document.getElementById("sites-head");
    const body = document.querySelector("#sites tbody");
    if (!v) {
      head.textContent = "this server does not report sites";
      body.replaceChildren();
      return;
    }
    head.dataset.connected = v.connected ? "yes" : "no";
    head.textContent = (v.connected ? "connected" : "cut off from etcd: serving the last committed state") +
      "; leader: " + (v.leader || "none") + (v.revision ? "; etcd revision " + v.revision : "");
    body.replaceChildren(...(v.sites || []).map((s) =>
      el("tr", { "data-site": s.site, "data-leader": s.leader ? "yes" : "no" },
        el("td", {}, s.site), el("td", {}, s.hostname), el("td", {}, s.leader ? "leader" : "follower"),
        el("td", {}, when(s.last_seen)), el("td", {}, s.version))));
  }

  function render(data) {
    renderSites(data.sites);
    const svc = document.getElementById("services");
    svc.replaceChildren(...data.details.map(serviceCard));
    if (data.details.length === 0) svc.append(el("p", { class: "empty" }, "no services"));

    const cl = document.getElementById("clusters");
    cl.replaceChildren(...data.clusters.map((c) => clusterBlock(c, data.reals)));
    if (data.clusters.length === 0) cl.append(el("p", { class: "empty" }, "no clusters"));

    const events = data.events.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, MAX_EVENTS);
    document.querySelector("#events tbody").replaceChildren(...events.map((e) =>
      el("tr", { class: "event" },
        el("td", {}, when(e.time)), el("td", {}, e.fqdn), el("td", {}, e.kind), el("td", {}, e.region || ""),
        el("td", {}, e.address || ""), el("td", {}, badge(e.old_status), " → ", badge(e.new_status)),
        el("td", { class: "msg" }, e.message || ""))));

    const counts = {};
    for (const d of data.details) counts[d.status] = (counts[d.status] || 0) + 1;
    const paged = view.after.length > 1 || view.next;
    document.getElementById("summary").textContent = data.details.length + " services" +
      (paged ? " on page " + view.after.length : "") + (view.q ? " matching “" + view.q + "”" : "") + ": " +
      Object.entries(counts).map(([k, v]) => v + " " + k).join(", ");
    const pager = document.getElementById("pager");
    pager.dataset.page = String(view.after.length);
    pager.dataset.next = view.next;
    document.getElementById("services-prev").disabled = view.after.length <= 1;
    document.getElementById("services-next").disabled = !view.next;
    document.getElementById("updated").textContent = "updated " + new Date().toISOString().replace(/\.\d+Z$/, "Z");
  }

  // checkStore shows a banner while /healthz says the state store cannot
  // write: DNS is still answered, but changes are not kept across a restart.
  async function checkStore() {
    const box = document.getElementById("store-alert");
    let text = "";
    try {
      const resp = await fetch("/healthz", { cache: "no-store" });
      if (!resp.ok) text = (await resp.text()) || "HTTP " + resp.status;
    } catch (e) {
      text = "";  // the API itself is unreachable: the error line says so
    }
    box.textContent = text ? "State is not being saved — " + text : "";
    box.hidden = !text;
    document.body.dataset.store = text ? "failing" : "ok";
  }

  // explain asks GET /v1/explain why a client gets its answer at a name
  // and shows the decision: region and rule, candidates, every entry with
  // its reason, the failover chain and the steps.
  async function explain(fqdn, client, type) {
    const out = document.getElementById("explain-result");
    const q = new URLSearchParams({ fqdn, type: type || "A" });
    if (client) q.set("client", client);
    out.dataset.explain = "loading";
    try {
      const x = await api("/v1/explain?" + q.toString());
      const rows = (x.entries || []).map((e) =>
        el("tr", { "data-address": e.address, "data-in-answer": e.in_answer ? "yes" : "no" },
          el("td", {}, e.address), el("td", {}, badge(e.status)), el("td", {}, e.serve_mode), el("td", {}, e.weight),
          el("td", {}, e.ep_rank ? "#" + e.ep_rank : ""), el("td", {}, e.in_answer ? "in answer" : "left out"),
          el("td", { class: "msg" }, e.reason)));
      const chain = (x.failover || []).map((h) => `${h.from} → ${h.to} (${h.mode})`).join(", ");
      out.replaceChildren(...[
        el("p", { class: "explain-head" }, el("strong", {}, x.fqdn), " ", x.type, " for ", x.client || "?", ": ",
          x.kind ? el("span", { class: "kind" }, x.kind) : null, " ", x.status ? badge(x.status) : null),
        el("p", { class: "explain-region", "data-region": x.region.code, "data-rule": x.region.reason },
          "region ", el("strong", {}, x.region.code), " — ", x.region.detail),
        el("p", { class: "explain-answer" }, "candidates: ", el("strong", {}, (x.answer || []).join(", ") || "none"),
          "; serve_count ", x.serve_count === 0 ? "all" : x.serve_count),
        chain ? el("p", { class: "explain-chain" }, "failover: " + chain) : null,
        el("table", {},
          el("thead", {}, el("tr", {}, ...["address", "status", "mode", "weight", "ep", "answer", "why"].map((h) => el("th", {}, h)))),
          el("tbody", {}, ...rows)),
        el("ol", { class: "explain-steps" }, ...(x.steps || []).map((s) => el("li", {}, s))),
      ].filter((n) => n !== null));
      out.dataset.explain = "done";
    } catch (e) {
      if (e instanceof AuthError) throw e;
      out.replaceChildren(el("p", { class: "error" }, "cannot explain: " + e.message));
      out.dataset.explain = "error";
    }
  }

  // explainFromURL runs the explanation asked for in the address
  // (/?explain=NAME&client=IP&type=T), so one can be linked to.
  function explainFromURL() {
    const p = new URLSearchParams(location.search);
    const fqdn = p.get("explain");
    if (!fqdn) return;
    document.getElementById("explain-fqdn").value = fqdn;
    document.getElementById("explain-client").value = p.get("client") || "";
    document.getElementById("explain-type").value = p.get("type") || "A";
    explain(fqdn, p.get("client") || "", p.get("type") || "A").catch(() => {});
  }

  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    await checkStore();
    const errBox = document.getElementById("error");
    try {
      render(await load());
      errBox.hidden = true;
      document.getElementById("login").hidden = true;
      if (document.body.dataset.state !== "ok") explainFromURL();
      document.body.dataset.state = "ok";
    } catch (e) {
      if (e instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_KEY);
        document.getElementById("login").hidden = false;
        document.getElementById("updated").textContent = "token needed";
        document.body.dataset.state = "login";
        return; // wait for the token
      }
      errBox.textContent = "cannot load: " + e.message;
      errBox.hidden = false;
      document.body.dataset.state = "error";
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  // showPage keeps the search and page size in the address bar and reads
  // the page at once instead of waiting for the next refresh.
  function showPage() {
    const p = new URLSearchParams(location.search);
    if (view.q) p.set("q", view.q); else p.delete("q");
    const after = view.after[view.after.length - 1];
    if (after) p.set("after", after); else p.delete("after");
    const s = p.toString();
    history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    takeTokenFromFragment();
    readViewFromURL();
    document.getElementById("service-search-input").value = view.q;
    document.getElementById("service-search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      view.q = document.getElementById("service-search-input").value.trim();
      view.after = [""];
      showPage();
    });
    document.getElementById("services-next").addEventListener("click", () => {
      if (!view.next) return;
      view.after.push(view.next);
      showPage();
    });
    document.getElementById("services-prev").addEventListener("click", () => {
      if (view.after.length > 1) view.after.pop();
      showPage();
    });
    document.getElementById("explain").addEventListener("submit", (ev) => {
      ev.preventDefault();
      explain(document.getElementById("explain-fqdn").value.trim(), document.getElementById("explain-client").value.trim(),
        document.getElementById("explain-type").value).catch(() => refresh());
    });
    document.getElementById("login").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = document.getElementById("token");
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      input.value = "";
      refresh();
    });
    refresh();
  });
})();
