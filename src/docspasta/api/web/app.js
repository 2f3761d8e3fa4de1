// The docspasta web page: start a crawl, follow it live over Server-Sent Events, take the result.
//
// Everything comes from this origin's V5 API; the caller is identified by the server's signed
// HttpOnly cookie (or as the local user of a loopback server). Crawled text is only ever put
// into the page as text (textContent, or DOM nodes built by markdown.js).

import { render } from "./markdown.js";

const API = "/api/v5";
const TERMINAL = ["completed", "partial_success", "failed", "cancelled"];
const STATUS_LABELS = {
  pending: "Queued",
  running: "Crawling",
  finalizing: "Assembling",
  completed: "Completed",
  partial_success: "Completed, some pages failed",
  failed: "Failed",
  cancelled: "Cancelled",
};
const LOSS_LABELS = {
  code_blocks: "code blocks",
  table_rows: "table rows",
  headings: "headings",
  links: "links",
};
/** Common context windows, in tokens. */
const WINDOWS = [
  [8192, "8K"],
  [32768, "32K"],
  [128000, "128K"],
  [200000, "200K"],
  [1000000, "1M"],
];
const PREVIEW_CHARS = 300000;
const DETAIL_INTERVAL_MS = 1500;
const ANNOUNCE_INTERVAL_MS = 5000;
const MAX_BACKOFF_MS = 15000;

const $ = (id) => document.getElementById(id);
const integer = new Intl.NumberFormat("en");
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

// -- talking to the API ----------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
}

async function api(path, { method = "GET", body, accept = "application/json" } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { accept } : { accept, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Could not reach the docspasta server. Check that it is running, then try again.");
  }
  if (response.ok) {
    if (response.status === 204) return null;
    return accept === "application/json" ? response.json() : response.text();
  }
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch {
    // not our JSON error body: a proxy's page, say
  }
  let message = error.message || `The server answered ${response.status}.`;
  if (response.status === 401) {
    message = "This server only accepts API keys, so the web page cannot start crawls here.";
  }
  throw new ApiError(response.status, message, error.field);
}

// -- small helpers -------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function hidden(node, hide) {
  node.hidden = hide;
}

function shortUrl(url) {
  try {
    const parsed = new URL(url);
    return (parsed.host + parsed.pathname + parsed.search).replace(/\/$/, "");
  } catch {
    return url;
  }
}

function duration(ms) {
  if (ms < 1000) return "<1s";
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

function ago(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const steps = [
    [60, "second"],
    [3600, "minute", 60],
    [86400, "hour", 3600],
    [Infinity, "day", 86400],
  ];
  for (const [limit, unit, size = 1] of steps) {
    if (Math.abs(seconds) < limit) return relative.format(Math.round(seconds / size), unit);
  }
  return "";
}

/** "1 page", "2 pages", "1,024 tokens". */
function count(n, word) {
  return `${integer.format(n)} ${word}${n === 1 ? "" : "s"}`;
}

function percent(part, whole) {
  const value = (part / whole) * 100;
  return value < 1 ? "<1%" : `${Math.round(value)}%`;
}

function isTerminal(status) {
  return TERMINAL.includes(status);
}

const announcer = {
  last: 0,
  say(text, { force = false } = {}) {
    const now = Date.now();
    if (!force && now - this.last < ANNOUNCE_INTERVAL_MS) return;
    this.last = now;
    $("announcer").textContent = text;
  },
};

// -- the job being watched -----------------------------------------------------------------

const view = {
  id: null,
  state: null,
  source: null,
  backoff: 1000,
  reopenTimer: null,
  detailTimer: null,
  detailAt: 0,
  elapsedTimer: null,
  markdown: null,
  finishing: false,
};

function closeStream() {
  if (view.source) view.source.close();
  view.source = null;
  clearTimeout(view.reopenTimer);
  view.reopenTimer = null;
}

function resetView() {
  closeStream();
  clearTimeout(view.detailTimer);
  clearInterval(view.elapsedTimer);
  Object.assign(view, {
    id: null,
    state: null,
    backoff: 1000,
    detailTimer: null,
    detailAt: 0,
    elapsedTimer: null,
    markdown: null,
    finishing: false,
  });
  setConnection(null);
  hidden($("result"), true);
  hidden($("live"), false);
  hidden($("recent"), true);
  $("recent-pages").replaceChildren();
  $("preview").replaceChildren();
  $("raw").textContent = "";
  $("page-list").replaceChildren();
  $("failed-list").replaceChildren();
  $("copy-status").textContent = "";
}

function setConnection(text) {
  const node = $("connection");
  node.textContent = text || "";
  hidden(node, !text);
}

async function openJob(id, { focus = false } = {}) {
  if (view.id === id && (view.source || view.finishing || view.reopenTimer)) return;
  resetView();
  view.id = id;
  if (location.hash !== `#job=${id}`) history.replaceState(null, "", `#job=${id}`);
  hidden($("job"), false);
  $("job-heading").textContent = "Crawl";
  $("job-url").textContent = "";
  if (focus) $("job-heading").focus();
  view.elapsedTimer = setInterval(showElapsed, 1000);
  await refreshDetail({ thenFollow: true });
}

function closeJob() {
  resetView();
  hidden($("job"), true);
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}

/** Read the job; follow its stream (``thenFollow``) or finish it when it has ended. */
async function refreshDetail({ thenFollow = false } = {}) {
  const id = view.id;
  let detail;
  try {
    detail = await api(`${API}/jobs/${id}`);
  } catch (error) {
    if (id !== view.id) return;
    if (error.status === 404) {
      gone();
    } else if (thenFollow) {
      reopenLater();
    }
    return;
  }
  if (id !== view.id) return;
  view.detailAt = Date.now();
  applyState(detail);
  showRecent(detail.recentPages);
  if (isTerminal(detail.status)) {
    await finish(detail);
  } else if (thenFollow) {
    follow();
  }
}

function gone() {
  closeStream();
  clearInterval(view.elapsedTimer);
  hidden($("live"), true);
  hidden($("result"), true);
  showMessage("This crawl no longer exists (it was deleted, or belongs to someone else).", "error");
  $("job-status").textContent = "gone";
  $("job-status").dataset.status = "failed";
}

/** Follow the progress stream; EventSource resumes by itself with Last-Event-ID. */
function follow() {
  closeStream();
  const source = new EventSource(`${API}/jobs/${view.id}/stream`);
  view.source = source;
  source.onopen = () => {
    view.backoff = 1000;
    setConnection(null);
  };
  const onEvent = (event) => {
    if (source !== view.source) return;
    const state = JSON.parse(event.data);
    applyState(state);
    if (isTerminal(event.type)) {
      closeStream();
      refreshDetail();
    } else {
      scheduleDetail();
    }
  };
  source.addEventListener("progress", onEvent);
  for (const kind of TERMINAL) source.addEventListener(kind, onEvent);
  source.onerror = () => {
    if (source !== view.source) return;
    if (source.readyState === EventSource.CLOSED) {
      reopenLater(); // the browser gave up (an error answer): we go on ourselves
    } else {
      setConnection("Connection lost. Reconnecting…");
    }
  };
}

/** Try again after a pause that doubles up to 15 s; the job is re-read first. */
function reopenLater() {
  closeStream();
  const wait = view.backoff;
  view.backoff = Math.min(view.backoff * 2, MAX_BACKOFF_MS);
  setConnection(`Connection lost. Trying again in ${Math.round(wait / 1000)}s…`);
  view.reopenTimer = setTimeout(() => {
    view.reopenTimer = null;
    refreshDetail({ thenFollow: true });
  }, wait);
}

window.addEventListener("online", () => {
  if (view.reopenTimer) {
    clearTimeout(view.reopenTimer);
    view.reopenTimer = null;
    refreshDetail({ thenFollow: true });
  }
});

/** The latest pages, read at most every 1.5 s while the crawl runs. */
function scheduleDetail() {
  if (view.detailTimer) return;
  const wait = Math.max(0, view.detailAt + DETAIL_INTERVAL_MS - Date.now());
  view.detailTimer = setTimeout(async () => {
    view.detailTimer = null;
    const id = view.id;
    view.detailAt = Date.now();
    try {
      const detail = await api(`${API}/jobs/${id}`);
      if (id === view.id && !view.finishing) {
        applyState(detail);
        showRecent(detail.recentPages);
      }
    } catch {
      // the stream tells when the server is back
    }
  }, wait);
}

function showMessage(text, kind = "info") {
  const node = $("job-message");
  node.textContent = text || "";
  node.dataset.kind = kind;
  hidden(node, !text);
}

function applyState(state) {
  if (view.state && state.stateVersion < view.state.stateVersion) return; // an older read
  const previous = view.state;
  view.state = state;
  const { progress } = state;
  $("job-heading").textContent = state.title || shortUrl(state.url);
  $("job-url").textContent = state.url;
  const badge = $("job-status");
  badge.textContent = STATUS_LABELS[state.status] || state.status;
  badge.dataset.status = state.status;
  $("stat-completed").textContent = integer.format(progress.completed);
  $("stat-discovered").textContent = integer.format(progress.discovered);
  $("stat-failed").textContent = integer.format(progress.failed);
  $("stat-tokens").textContent = integer.format(progress.tokens);
  $("stat-tokens-label").textContent = isTerminal(state.status) ? "Tokens" : "Tokens so far";
  showElapsed();
  const bar = $("job-progress");
  const done = progress.completed + progress.failed + progress.skipped;
  if (state.status === "pending" || progress.discovered === 0) {
    bar.removeAttribute("value");
  } else {
    bar.max = Math.max(progress.discovered, 1);
    bar.value = isTerminal(state.status) ? bar.max : Math.min(done, bar.max);
  }
  hidden($("cancel"), isTerminal(state.status));
  const item = listedJob(state.id);
  if (item) updateJobItem(item, state);
  if (state.statusMessage) {
    showMessage(state.statusMessage, state.status === "failed" ? "error" : "info");
  } else if (!isTerminal(state.status)) {
    showMessage(null);
  }
  const label = STATUS_LABELS[state.status] || state.status;
  document.title = isTerminal(state.status)
    ? `${label}: ${state.title || shortUrl(state.url)} — docspasta`
    : `(${progress.completed}/${progress.discovered}) ${shortUrl(state.url)} — docspasta`;
  const changed = !previous || previous.status !== state.status;
  if (!isTerminal(state.status)) {
    announcer.say(
      `${label}: ${integer.format(progress.completed)} of ${count(progress.discovered, "page")} done, ` +
        `${count(progress.tokens, "token")}.`,
      { force: changed },
    );
  }
}

function showElapsed() {
  const state = view.state;
  if (!state) return;
  const start = Date.parse(state.createdAt);
  const end = state.completedAt ? Date.parse(state.completedAt) : Date.now();
  $("stat-elapsed").textContent = duration(end - start);
  if (isTerminal(state.status)) clearInterval(view.elapsedTimer);
}

/** A link to a crawled page, opened in a new tab; a URL that is not http(s) stays text. */
function externalLink(url, text, className) {
  if (!/^https?:\/\//i.test(url)) return el("span", className, text);
  const link = el("a", className, text);
  link.href = url;
  link.rel = "noopener noreferrer nofollow";
  link.target = "_blank";
  return link;
}

function pageItem(page, { number } = {}) {
  const item = el("li", "page");
  const head = el("div", "page-head");
  if (number !== undefined) head.append(el("span", "page-number", `${number}.`));
  head.append(externalLink(page.url, page.title || shortUrl(page.url), "page-title"));
  if (page.status === "completed") {
    head.append(el("span", "tokens", count(page.tokens, "token")));
  } else {
    head.append(el("span", "tokens", page.status));
  }
  item.append(head);
  item.append(el("p", "page-url", shortUrl(page.url)));
  const losses = page.fidelityWarnings || [];
  if (losses.length) {
    const warning = el("p", "warning");
    warning.append(el("span", "warning-icon", "⚠"));
    warning.append(` Fewer ${losses.map((loss) => LOSS_LABELS[loss] || loss).join(", ")} than the page`);
    item.append(warning);
  }
  return item;
}

function showRecent(pages) {
  const done = (pages || []).filter((page) => page.status !== "pending").slice(0, 5);
  $("recent-pages").replaceChildren(...done.map((page) => pageItem(page)));
  hidden($("recent"), done.length === 0 || view.finishing);
}

// -- the finished job ----------------------------------------------------------------------

async function finish(detail) {
  if (view.finishing) return;
  view.finishing = true;
  closeStream();
  clearTimeout(view.detailTimer);
  setConnection(null);
  showElapsed();
  hidden($("recent"), true);
  hidden($("cancel"), true);
  const hasDocument = detail.markdownBytes !== null && detail.markdownBytes !== undefined;
  let markdown = detail.markdown;
  if (hasDocument && markdown === null) {
    markdown = await loadWithRetry(() => api(detail.links.markdown, { accept: "text/markdown" }));
  }
  if (detail.id !== view.id) return;
  view.markdown = markdown;
  const pages = await loadWithRetry(() => api(`${API}/jobs/${detail.id}/pages`)).catch(() => null);
  if (detail.id !== view.id) return;
  showResult(detail, markdown, pages ? pages.pages : []);
  const { progress } = detail;
  const label = STATUS_LABELS[detail.status];
  announcer.say(
    hasDocument
      ? `${label}: ${count(progress.completed, "page")}, ${count(progress.tokens, "token")}. The document is ready.`
      : `${label}. ${detail.statusMessage || ""}`,
    { force: true },
  );
  refreshJobs();
}

async function loadWithRetry(load) {
  for (let wait = 1000; ; wait = Math.min(wait * 2, MAX_BACKOFF_MS)) {
    try {
      return await load();
    } catch (error) {
      if (error.status && error.status !== 503 && error.status !== 502) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function showResult(detail, markdown, pages) {
  const hasDocument = typeof markdown === "string";
  hidden($("result"), !hasDocument);
  if (!hasDocument) {
    if (!detail.statusMessage && detail.status === "cancelled") showMessage("The crawl was cancelled.");
    return;
  }
  const { progress } = detail;
  const tokens = progress.tokens;
  $("total-tokens").textContent = integer.format(tokens);
  $("total-detail").textContent =
    `${count(progress.completed, "page")} · ${count(progress.words, "word")} · ` +
    `${count(markdown.length, "character")}`;
  $("windows").replaceChildren(
    ...WINDOWS.map(([size, name]) => {
      const fits = tokens <= size;
      const item = el("li", fits ? "window fits" : "window too-big");
      item.append(el("span", "window-name", name));
      item.append(
        el("span", "window-verdict", fits ? `fits · ${percent(tokens, size)}` : "too large"),
      );
      return item;
    }),
  );
  const download = $("download");
  download.href = detail.links.markdown;
  let shown = markdown;
  if (markdown.length > PREVIEW_CHARS) {
    shown = markdown.slice(0, markdown.lastIndexOf("\n", PREVIEW_CHARS));
    $("preview-note").textContent =
      `Showing the first ${integer.format(shown.length)} of ${integer.format(markdown.length)} characters; Copy and Download give everything.`;
  } else {
    $("preview-note").textContent = "";
  }
  render(shown, $("preview"));
  $("raw").textContent = shown;
  showPreviewMode();

  const documentPages = pages.filter((page) => page.status === "completed");
  $("page-list").replaceChildren(...documentPages.map((page, n) => pageItem(page, { number: n + 1 })));
  $("pages-count").textContent = `(${documentPages.length})`;
  const failed = detail.failedPages || [];
  $("failed-list").replaceChildren(
    ...failed.map((page) => {
      const item = el("li", "page failed");
      item.append(externalLink(page.url, shortUrl(page.url), "page-title"), el("p", "reason", page.reason));
      return item;
    }),
  );
  $("failed-count").textContent = `(${failed.length})`;
  hidden($("no-failures"), failed.length > 0);
  selectTab("tab-preview");
}

function showPreviewMode() {
  const raw = $("raw-toggle").checked;
  hidden($("raw"), !raw);
  hidden($("preview"), raw);
}

async function copyMarkdown() {
  const text = view.markdown;
  if (typeof text !== "string") return;
  const status = $("copy-status");
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No async clipboard (a plain-http origin that is not localhost): the older way.
    const area = el("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    if (!copied) {
      status.textContent = "Copying was refused by the browser: use Download instead.";
      return;
    }
  }
  status.textContent = `Copied ${integer.format(text.length)} characters.`;
  setTimeout(() => {
    if (status.textContent.startsWith("Copied")) status.textContent = "";
  }, 5000);
}

// -- tabs ----------------------------------------------------------------------------------

const TABS = ["tab-preview", "tab-pages", "tab-failed"];

function selectTab(id, { focus = false } = {}) {
  for (const tabId of TABS) {
    const tab = $(tabId);
    const selected = tabId === id;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    hidden($(tab.getAttribute("aria-controls")), !selected);
    if (selected && focus) tab.focus();
  }
}

function onTabKey(event) {
  const index = TABS.indexOf(event.currentTarget.id);
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  selectTab(TABS[(moves[event.key] + TABS.length) % TABS.length], { focus: true });
}

// -- starting a crawl ----------------------------------------------------------------------

const FIELDS = {
  url: "url",
  "options.maxPages": "max-pages",
  "options.maxDepth": "max-depth",
  "options.includePaths": "include-paths",
  "options.excludePaths": "exclude-paths",
};

function clearFormError() {
  hidden($("form-error"), true);
  $("form-error").textContent = "";
  for (const id of Object.values(FIELDS)) {
    const input = $(id);
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", input.getAttribute("aria-describedby").replace(" form-error", ""));
  }
}

function showFormError(message, field) {
  const box = $("form-error");
  box.textContent = message;
  hidden(box, false);
  const id = FIELDS[field];
  if (id) {
    const input = $(id);
    if (field.startsWith("options.")) $("options").open = true;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby")} form-error`);
    input.focus();
  }
}

function globs(text) {
  return text
    .split(/[\n,]/)
    .map((glob) => glob.trim())
    .filter(Boolean);
}

function whole(id, label, minimum) {
  const raw = $(id).value.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) {
    throw new ApiError(0, `${label} must be a whole number of at least ${minimum}.`, FIELDS_BY_ID[id]);
  }
  return value;
}

const FIELDS_BY_ID = Object.fromEntries(Object.entries(FIELDS).map(([field, id]) => [id, field]));

function crawlRequest() {
  let url = $("url").value.trim();
  if (!url) throw new ApiError(0, "Enter the address of a documentation site.", "url");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = `https://${url}`; // "docs.python.org/3/"
  $("url").value = url;
  const options = {};
  const maxPages = whole("max-pages", "Max pages", 1);
  if (maxPages !== undefined) options.maxPages = maxPages;
  const maxDepth = whole("max-depth", "Max depth", 0);
  if (maxDepth !== undefined) options.maxDepth = maxDepth;
  const include = globs($("include-paths").value);
  if (include.length) options.includePaths = include;
  const exclude = globs($("exclude-paths").value);
  if (exclude.length) options.excludePaths = exclude;
  return { url, options };
}

async function startCrawl(event) {
  event.preventDefault();
  clearFormError();
  const button = $("start");
  let request;
  try {
    request = crawlRequest();
  } catch (error) {
    showFormError(error.message, error.field);
    return;
  }
  button.disabled = true;
  button.textContent = "Starting…";
  try {
    const accepted = await api(`${API}/crawl`, { method: "POST", body: request });
    announcer.say("Crawl started.", { force: true });
    refreshJobs();
    await openJob(accepted.jobId, { focus: true });
  } catch (error) {
    showFormError(error.message, error.field);
  } finally {
    button.disabled = false;
    button.textContent = "Crawl";
  }
}

async function cancelJob(id, button) {
  if (button) button.disabled = true;
  try {
    const state = await api(`${API}/jobs/${id}/cancel`, { method: "POST" });
    if (id === view.id) applyState(state);
    announcer.say("Cancelling the crawl.", { force: true });
  } catch (error) {
    if (id === view.id) showMessage(error.message, "error");
    else showJobsError(error.message);
  } finally {
    if (button) button.disabled = false;
    refreshJobs();
  }
}

async function deleteJob(id, name) {
  try {
    await api(`${API}/jobs/${id}`, { method: "DELETE" });
    if (id === view.id) closeJob();
    announcer.say(`Deleted the crawl of ${name}.`, { force: true });
    await refreshJobs();
    $("jobs-heading").focus();
  } catch (error) {
    showJobsError(error.message);
  }
}

// -- the jobs list -------------------------------------------------------------------------

const jobs = { cursor: null, timer: null };

function showJobsError(text) {
  $("jobs-error").textContent = text || "";
  hidden($("jobs-error"), !text);
}

function jobItem(job) {
  const item = el("li", "job-item");
  item.dataset.id = job.id;
  const head = el("div", "job-item-head");
  const link = el("a", "job-link");
  link.href = `#job=${job.id}`;
  head.append(link, el("span", "badge"));
  const actions = el("div", "job-actions");
  const button = el("button", "quiet");
  button.type = "button";
  button.addEventListener("click", () =>
    isTerminal(item.dataset.status) ? deleteJob(job.id, item.dataset.name) : cancelJob(job.id, button),
  );
  actions.append(button);
  item.append(head, el("p", "hint job-meta"), actions);
  updateJobItem(item, job);
  return item;
}

/** Show ``job`` in its list item, in place (a focused button keeps its focus). */
function updateJobItem(item, job) {
  const name = job.title || shortUrl(job.url);
  const terminal = isTerminal(job.status);
  item.dataset.status = job.status;
  item.dataset.name = name;
  const link = item.querySelector(".job-link");
  link.textContent = name;
  if (job.id === view.id) link.setAttribute("aria-current", "true");
  else link.removeAttribute("aria-current");
  const badge = item.querySelector(".badge");
  badge.textContent = STATUS_LABELS[job.status] || job.status;
  badge.dataset.status = job.status;
  item.querySelector(".job-meta").textContent =
    `${shortUrl(job.url)} · ${count(job.progress.completed, "page")} · ` +
    `${count(job.progress.tokens, "token")} · ${ago(job.createdAt)}`;
  const button = item.querySelector("button");
  button.className = terminal ? "quiet" : "quiet danger-text";
  button.replaceChildren(terminal ? "Delete" : "Cancel", el("span", "visually-hidden", ` crawl of ${name}`));
}

function listedJob(id) {
  return document.querySelector(`#jobs li[data-id="${CSS.escape(id)}"]`);
}

/** The list, newest first; items already shown are updated in place, not rebuilt. */
async function refreshJobs({ more = false } = {}) {
  const list = $("jobs");
  const shown = list.children.length;
  const query = new URLSearchParams();
  if (more && jobs.cursor) {
    query.set("limit", "20");
    query.set("cursor", jobs.cursor);
  } else {
    query.set("limit", String(Math.min(100, Math.max(20, shown))));
  }
  let answer;
  try {
    answer = await api(`${API}/jobs?${query}`);
  } catch (error) {
    showJobsError(error.message);
    return;
  }
  showJobsError(null);
  const items = answer.jobs.map((job) => {
    const item = listedJob(job.id);
    if (item) updateJobItem(item, job);
    return item || jobItem(job);
  });
  if (more) {
    for (const item of items) if (!item.parentNode) list.append(item);
  } else {
    const keep = new Set(items);
    for (const child of [...list.children]) if (!keep.has(child)) child.remove();
    items.forEach((item, n) => {
      if (list.children[n] !== item) list.insertBefore(item, list.children[n] || null);
    });
  }
  jobs.cursor = answer.nextCursor;
  hidden($("more-jobs"), !answer.nextCursor);
  hidden($("jobs-empty"), list.children.length > 0);
  const active = answer.jobs.some((job) => !isTerminal(job.status));
  clearTimeout(jobs.timer);
  if (active) jobs.timer = setTimeout(() => refreshJobs(), 5000);
}

// -- wiring --------------------------------------------------------------------------------

function jobFromHash() {
  const match = /^#job=([0-9a-f-]{36})$/.exec(location.hash);
  return match ? match[1] : null;
}

function onHashChange() {
  const id = jobFromHash();
  if (id && id !== view.id) openJob(id, { focus: true });
  for (const link of document.querySelectorAll(".job-link")) {
    if (link.getAttribute("href") === `#job=${view.id}`) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
}

function main() {
  $("crawl-form").addEventListener("submit", startCrawl);
  $("cancel").addEventListener("click", (event) => cancelJob(view.id, event.currentTarget));
  $("copy").addEventListener("click", copyMarkdown);
  $("raw-toggle").addEventListener("change", showPreviewMode);
  $("refresh-jobs").addEventListener("click", () => refreshJobs());
  $("more-jobs").addEventListener("click", () => refreshJobs({ more: true }));
  for (const id of TABS) {
    $(id).addEventListener("click", () => selectTab(id));
    $(id).addEventListener("keydown", onTabKey);
  }
  window.addEventListener("hashchange", onHashChange);
  const id = jobFromHash();
  if (id) openJob(id);
  else $("url").focus();
  refreshJobs();
}

main();
