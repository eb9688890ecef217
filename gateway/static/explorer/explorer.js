/* The explorer: one search over every source, without writing GraphQL. Plain JavaScript, no build step, no CDN.
 *
 * Talks to the gateway's /graphql like any client: POST, JSON, the caller's key (kept in this tab's sessionStorage)
 * as `Authorization: Bearer`. The search is the page's URL (`?q=...&kind=...&after=...`), so a search can be shared
 * and the browser's back button pages back. Every text from the gateway is put in the page as text, never as HTML.
 */
(function () {
  "use strict";

  var KEY_STORAGE = "procurement-explorer.api-key";
  var ACCEPT = "application/graphql-response+json, application/json";
  var KIND_LABELS = { LEAD: "Trade lead", TENDER: "Tender", CONTRACT: "Contract" };
  var FACET_LABELS = {
    SOURCE: "Source", KIND: "Kind", COUNTRY: "Country", CLASSIFICATION: "Classification", CLOSING: "Closing date"
  };
  var CLOSING_LABELS = {
    CLOSED: "Closed", NEXT_7_DAYS: "Within 7 days", NEXT_30_DAYS: "Within 30 days", LATER: "Later",
    UNKNOWN: "Not stated"
  };
  var STALE_AFTER_DAYS = 7;

  var SEARCH_QUERY = [
    "query Explore($keywords: String, $filter: SearchFilter, $first: Int, $after: String, $language: Language!) {",
    "  search(keywords: $keywords, filter: $filter, first: $first, after: $after) {",
    "    totalCount",
    "    pageInfo { hasNextPage endCursor }",
    "    edges {",
    "      upstream",
    "      origins { upstream }",
    "      node {",
    "        __typename",
    "        ... on Lead { id title url publishDate endDate procurementOrganization",
    "          minValue { amount currency } maxValue { amount currency } contractValue { amount currency } }",
    "        ... on Tender { id title(language: $language) buyerName: buyer(language: $language) url(language: $language)",
    "          closingDate }",
    "        ... on Contract { id title(language: $language) url(language: $language) awardDate",
    "          buyer { name(language: $language) } supplier { name } value { amount currency } }",
    "      }",
    "    }",
    "    facets { name values { value label count pageLocal } }",
    "    sources { upstream kind asked totalCount errorCode errorMessage retryAfterSeconds servedStale",
    "      cacheAgeSeconds lastUpdated }",
    "  }",
    "}"
  ].join("\n");
  var SOURCES_QUERY = "query ExplorerSources { sources { name title licence attribution configured } }";

  var body = document.body;
  var endpoint = body.dataset.endpoint || "/graphql";
  var byId = function (id) { return document.getElementById(id); };
  var form = byId("search-form");
  var state = { cursors: [], shown: null, variables: null };

  function ExplorerError(kind, message) {
    this.kind = kind;
    this.message = message;
  }

  // -- the key ------------------------------------------------------------------------------------------------------

  function storedKey() {
    try { return window.sessionStorage.getItem(KEY_STORAGE) || ""; } catch (error) { return ""; }
  }

  function storeKey(key) {
    try {
      if (key) { window.sessionStorage.setItem(KEY_STORAGE, key); } else { window.sessionStorage.removeItem(KEY_STORAGE); }
    } catch (error) { /* storage refused: the key lives only in the box */ }
  }

  function showKeyStatus() {
    byId("key-status").textContent = storedKey()
      ? "A key is set for this tab; it is sent with every search."
      : "No key: searches use the gateway's anonymous tier when it has one.";
  }

  // -- talking to the gateway ---------------------------------------------------------------------------------------

  async function graphql(query, variables, operationName) {
    var headers = { "Content-Type": "application/json", "Accept": ACCEPT };
    var key = storedKey();
    if (key) { headers.Authorization = "Bearer " + key; }
    var response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: headers,
        body: JSON.stringify({ query: query, variables: variables, operationName: operationName })
      });
    } catch (error) {
      throw new ExplorerError("network", "The gateway could not be reached. Check your connection and try again.");
    }
    var answer = null;
    try { answer = await response.json(); } catch (error) { answer = null; }
    var code = answer && answer.errors && answer.errors[0] && answer.errors[0].extensions
      ? answer.errors[0].extensions.code : null;
    if (response.status === 401 || code === "UNAUTHENTICATED") {
      throw new ExplorerError("key", key
        ? "The gateway refused this API key (unknown, wrong or revoked). Check it, or forget it to search without one."
        : "This gateway needs an API key: ask its operator for one (they create it with " +
          "`python -m gateway keys create --tier free --owner you@example.org`), paste it in the API key box, " +
          "and search again.");
    }
    if (response.status === 429 || response.status === 503) {
      var wait = response.headers.get("Retry-After");
      throw new ExplorerError("busy", (response.status === 429 ? "Too many searches for now" : "The gateway is busy") +
        (wait ? ": try again in " + wait + " seconds." : ": try again shortly."));
    }
    if (!answer) {
      throw new ExplorerError("http", "The gateway answered HTTP " + response.status + " without a readable body.");
    }
    return answer;
  }

  // -- the search as a URL, and back --------------------------------------------------------------------------------

  function listOf(text) {
    return text.split(",").map(function (part) { return part.trim(); }).filter(Boolean);
  }

  function readForm() {
    var params = new URLSearchParams();
    var set = function (name, value) { if (value) { params.set(name, value); } };
    set("q", byId("keywords").value.trim());
    form.querySelectorAll("input[name=kind]:checked").forEach(function (box) { params.append("kind", box.value); });
    Array.prototype.forEach.call(byId("sources").selectedOptions, function (option) {
      params.append("source", option.value);
    });
    set("countries", listOf(byId("countries").value).join(","));
    set("regions", listOf(byId("regions").value).join(","));
    if (byId("code").value.trim()) {
      set("scheme", byId("scheme").value || "GSIN");
      set("code", byId("code").value.trim());
    }
    set("closingFrom", byId("closing-from").value);
    set("closingTo", byId("closing-to").value);
    set("awardedFrom", byId("awarded-from").value);
    set("awardedTo", byId("awarded-to").value);
    set("min", byId("value-min").value);
    set("max", byId("value-max").value);
    params.set("first", byId("page-size").value);
    params.set("lang", byId("language").value);
    return params;
  }

  function writeForm(params) {
    byId("keywords").value = params.get("q") || "";
    var kinds = params.getAll("kind");
    form.querySelectorAll("input[name=kind]").forEach(function (box) { box.checked = kinds.indexOf(box.value) >= 0; });
    var sources = params.getAll("source");
    Array.prototype.forEach.call(byId("sources").options, function (option) {
      option.selected = sources.indexOf(option.value) >= 0;
    });
    byId("countries").value = params.get("countries") || "";
    byId("regions").value = params.get("regions") || "";
    byId("scheme").value = params.get("scheme") || "";
    byId("code").value = params.get("code") || "";
    byId("closing-from").value = params.get("closingFrom") || "";
    byId("closing-to").value = params.get("closingTo") || "";
    byId("awarded-from").value = params.get("awardedFrom") || "";
    byId("awarded-to").value = params.get("awardedTo") || "";
    byId("value-min").value = params.get("min") || "";
    byId("value-max").value = params.get("max") || "";
    byId("page-size").value = params.get("first") || "20";
    byId("language").value = params.get("lang") === "FR" ? "FR" : "EN";
  }

  function range(start, end) {
    return start || end ? { start: start || null, end: end || null } : null;
  }

  function variablesOf(params) {
    var filter = {};
    if (params.getAll("kind").length) { filter.kinds = params.getAll("kind"); }
    if (params.getAll("source").length) { filter.sources = params.getAll("source"); }
    if (params.get("countries")) { filter.countries = listOf(params.get("countries")); }
    if (params.get("regions")) { filter.regions = listOf(params.get("regions")); }
    if (params.get("code")) { filter.classifications = [{ scheme: params.get("scheme") || "GSIN", code: params.get("code") }]; }
    var closing = range(params.get("closingFrom"), params.get("closingTo"));
    if (closing) { filter.closing = closing; }
    var awarded = range(params.get("awardedFrom"), params.get("awardedTo"));
    if (awarded) { filter.awarded = awarded; }
    if (params.get("min") || params.get("max")) {
      filter.value = { min: params.get("min") || null, max: params.get("max") || null };
    }
    return {
      keywords: params.get("q") || null,
      filter: Object.keys(filter).length ? filter : null,
      first: parseInt(params.get("first") || "20", 10),
      after: params.get("after") || null,
      language: params.get("lang") === "FR" ? "FR" : "EN"
    };
  }

  // -- rendering ----------------------------------------------------------------------------------------------------

  function element(tag, text, attributes) {
    var made = document.createElement(tag);
    if (text !== undefined && text !== null) { made.textContent = String(text); }
    Object.keys(attributes || {}).forEach(function (name) { made.setAttribute(name, attributes[name]); });
    return made;
  }

  function money(value) {
    if (!value) { return ""; }
    var amount = Number(value.amount);
    var shown = isFinite(amount) ? amount.toLocaleString("en", { maximumFractionDigits: 2 }) : String(value.amount);
    return shown + " " + value.currency;
  }

  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  // One row of the table (and of the CSV) from a result, whatever its kind.
  function rowOf(edge) {
    var node = edge.node;
    var row = {
      source: edge.upstream,
      also: edge.origins.slice(1).map(function (origin) { return origin.upstream; }),
      kind: node.__typename.toUpperCase(),
      id: node.id,
      title: node.title || "",
      buyer: "",
      supplier: "",
      dates: "",
      value: "",
      url: safeUrl(node.url)
    };
    if (node.__typename === "Lead") {
      row.buyer = node.procurementOrganization || "";
      row.dates = [node.publishDate && "Published " + node.publishDate, node.endDate && "Closes " + node.endDate]
        .filter(Boolean).join("; ");
      row.value = node.contractValue ? money(node.contractValue)
        : [money(node.minValue), money(node.maxValue)].filter(Boolean).join(" to ");
    } else if (node.__typename === "Tender") {
      row.buyer = node.buyerName || "";
      row.dates = node.closingDate ? "Closes " + node.closingDate : "";
    } else {
      row.buyer = node.buyer && node.buyer.name ? node.buyer.name : "";
      row.supplier = node.supplier && node.supplier.name ? node.supplier.name : "";
      row.dates = node.awardDate ? "Awarded " + node.awardDate : "";
      row.value = money(node.value);
    }
    return row;
  }

  function renderResults(search, language) {
    var tbody = byId("results").querySelector("tbody");
    tbody.textContent = "";
    var bilingual = language === "FR" ? "fr" : "en";
    search.edges.forEach(function (edge) {
      var row = rowOf(edge);
      var tr = element("tr");
      var source = element("td", row.source);
      source.appendChild(element("span", KIND_LABELS[row.kind] || row.kind, { "class": "kind" }));
      if (row.also.length) { source.appendChild(element("span", "also: " + row.also.join(", "), { "class": "kind" })); }
      tr.appendChild(source);
      var title = element("td", row.title || "(no title)");
      if (row.kind !== "LEAD") { title.setAttribute("lang", bilingual); }
      tr.appendChild(title);
      var buyer = element("td", row.buyer);
      if (row.kind !== "LEAD") { buyer.setAttribute("lang", bilingual); }
      tr.appendChild(buyer);
      tr.appendChild(element("td", row.supplier));
      tr.appendChild(element("td", row.dates));
      tr.appendChild(element("td", row.value, { "class": "value" }));
      var link = element("td");
      if (row.url) {
        link.appendChild(element("a", "Open notice", {
          href: row.url, rel: "noopener noreferrer", "aria-label": "Open notice: " + (row.title || row.id)
        }));
      }
      tr.appendChild(link);
      tbody.appendChild(tr);
    });
  }

  function renderSummary(search, variables) {
    var first = state.cursors.length * variables.first;
    var count = search.edges.length;
    var text;
    if (!count) {
      text = "No results.";
    } else {
      text = "Showing results " + (first + 1) + " to " + (first + count);
      text += search.totalCount !== null ? " of at most " + search.totalCount.toLocaleString("en") + "." : ".";
    }
    byId("summary").textContent = text;
  }

  function isoDay(offsetDays) {
    var day = new Date();
    day.setUTCDate(day.getUTCDate() + offsetDays);
    return day.toISOString().slice(0, 10);
  }

  // What clicking a facet value adds to the search.
  function applyFacet(name, value) {
    if (name === "SOURCE") {
      Array.prototype.forEach.call(byId("sources").options, function (option) { option.selected = option.value === value; });
    } else if (name === "KIND") {
      form.querySelectorAll("input[name=kind]").forEach(function (box) { box.checked = box.value === value; });
    } else if (name === "COUNTRY") {
      byId("countries").value = value;
    } else if (name === "CLASSIFICATION") {
      var parts = value.split(":");
      byId("scheme").value = parts[0];
      byId("code").value = parts.slice(1).join(":");
    } else if (name === "CLOSING") {
      var spans = { CLOSED: [null, -1], NEXT_7_DAYS: [0, 6], NEXT_30_DAYS: [7, 29], LATER: [30, null] };
      var span = spans[value];
      byId("closing-from").value = span[0] === null ? "" : isoDay(span[0]);
      byId("closing-to").value = span[1] === null ? "" : isoDay(span[1]);
    }
    state.cursors = [];
    search(null);
  }

  function renderFacets(search) {
    var holder = byId("facets");
    holder.textContent = "";
    search.facets.forEach(function (facet) {
      if (!facet.values.length) { return; }
      var heading = element("h3", FACET_LABELS[facet.name] || facet.name, { id: "facet-" + facet.name.toLowerCase() });
      holder.appendChild(heading);
      var list = element("ul", null, { "aria-labelledby": heading.id });
      facet.values.forEach(function (value) {
        var name = facet.name === "CLOSING" ? CLOSING_LABELS[value.value] || value.value
          : facet.name === "KIND" ? value.label || value.value
          : value.label ? value.value + " " + value.label : value.value;
        var text = name + " (" + value.count.toLocaleString("en") + (value.pageLocal ? "*" : "") + ")";
        var item = element("li");
        if (facet.name === "CLOSING" && value.value === "UNKNOWN") {
          item.textContent = text;
        } else {
          var button = element("button", text, { type: "button", "class": "link" });
          button.addEventListener("click", function () { applyFacet(facet.name, value.value); });
          item.appendChild(button);
        }
        list.appendChild(item);
      });
      holder.appendChild(list);
    });
  }

  function renderNotices(search) {
    var list = byId("notices");
    list.textContent = "";
    var old = Date.now() - STALE_AFTER_DAYS * 24 * 3600 * 1000;
    search.sources.forEach(function (source) {
      var what = source.upstream + " (" + (KIND_LABELS[source.kind] || source.kind).toLowerCase() + "s)";
      if (source.errorCode) {
        var wait = source.retryAfterSeconds ? " It asked to wait " + source.retryAfterSeconds + " s." : "";
        list.appendChild(element("li", "Source " + what + " did not answer (" + source.errorCode + ": " +
          source.errorMessage + "). Its results will come on a later page; nothing is skipped." + wait,
        { "class": "error" }));
      }
      if (source.servedStale) {
        list.appendChild(element("li", "Source " + what + " did not answer: its results are from the gateway's cache, " +
          Math.round(source.cacheAgeSeconds || 0) + " seconds old."));
      }
      if (source.lastUpdated && Date.parse(source.lastUpdated) < old) {
        list.appendChild(element("li", "Source " + what + " was last updated on " + source.lastUpdated.slice(0, 10) +
          ": its data may be out of date."));
      }
    });
  }

  function graphqlText(variables) {
    return SEARCH_QUERY + "\n\n# Variables\n" + JSON.stringify(variables, null, 2);
  }

  function showMessage(text) {
    var message = byId("message");
    message.textContent = text || "";
    message.hidden = !text;
  }

  function setBusy(busy) {
    byId("search-button").disabled = busy;
    body.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // -- running a search ---------------------------------------------------------------------------------------------

  // `after`: the cursor to continue after (null: the first page). The search becomes the page's URL.
  async function search(after, fromHistory) {
    var params = readForm();
    if (after) { params.set("after", after); }
    if (!fromHistory) { window.history.pushState(null, "", "?" + params.toString()); }
    await run(params);
  }

  async function run(params) {
    var variables = variablesOf(params);
    state.variables = variables;
    byId("graphql-text").value = graphqlText(variables);
    byId("copy-graphql").disabled = false;
    byId("copy-link").disabled = false;
    setBusy(true);
    showMessage("");
    try {
      var answer = await graphql(SEARCH_QUERY, variables, "Explore");
      var found = answer.data ? answer.data.search : null;
      if (!found) {
        var errors = (answer.errors || []).map(function (error) { return error.message; });
        throw new ExplorerError("query", errors.length ? errors.join(" ") : "The search returned nothing.");
      }
      state.shown = found;
      renderResults(found, variables.language);
      renderSummary(found, variables);
      renderFacets(found);
      renderNotices(found);
      byId("next-page").disabled = !found.pageInfo.hasNextPage || !found.pageInfo.endCursor;
      byId("previous-page").disabled = state.cursors.length === 0;
      byId("export-csv").disabled = found.edges.length === 0;
    } catch (error) {
      state.shown = null;
      byId("results").querySelector("tbody").textContent = "";
      byId("facets").textContent = "";
      byId("notices").textContent = "";
      byId("summary").textContent = "No results shown.";
      byId("next-page").disabled = true;
      byId("export-csv").disabled = true;
      showMessage(error instanceof ExplorerError ? error.message : "Something went wrong: " + error);
    } finally {
      setBusy(false);
    }
  }

  // -- CSV, clipboard -----------------------------------------------------------------------------------------------

  function csvCell(value) {
    var text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; } // never a formula in a spreadsheet
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function exportCsv() {
    if (!state.shown) { return; }
    var lines = [["source", "also published by", "kind", "title", "buyer", "supplier", "dates", "value", "link", "id"]];
    state.shown.edges.forEach(function (edge) {
      var row = rowOf(edge);
      lines.push([row.source, row.also.join(" "), row.kind, row.title, row.buyer, row.supplier, row.dates, row.value,
        row.url || "", row.id]);
    });
    var text = lines.map(function (line) { return line.map(csvCell).join(","); }).join("\r\n") + "\r\n";
    var link = element("a", null, { download: "procurement-search.csv" });
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  async function copy(text, done) {
    try {
      await navigator.clipboard.writeText(text);
      byId("summary").textContent = done;
    } catch (error) {
      var area = byId("graphql-text");
      byId("graphql-details").open = true;
      area.value = text;
      area.focus();
      area.select();
      byId("summary").textContent = "Select and copy the text shown (Ctrl+C).";
    }
  }

  // -- sources and their licences -----------------------------------------------------------------------------------

  async function loadSources() {
    var answer = await graphql(SOURCES_QUERY, {}, "ExplorerSources");
    var sources = answer.data ? answer.data.sources : [];
    var select = byId("sources");
    var list = byId("attributions");
    select.textContent = "";
    list.textContent = "";
    sources.forEach(function (source) {
      if (!source.configured) { return; }
      select.appendChild(element("option", source.name + ": " + source.title, { value: source.name }));
      var item = element("li");
      item.appendChild(element("strong", source.title));
      item.appendChild(document.createTextNode(". " + source.attribution + ". Licence: " + source.licence + "."));
      list.appendChild(item);
    });
  }

  // -- wiring -------------------------------------------------------------------------------------------------------

  function cursorsFrom(params) {
    // A shared link to a later page starts there; Previous then goes back to the first page.
    return params.get("after") ? [null] : [];
  }

  async function start() {
    if (body.dataset.graphiql) {
      var link = byId("graphiql-link");
      link.href = body.dataset.graphiql;
      link.hidden = false;
    }
    byId("api-key").value = storedKey();
    showKeyStatus();
    byId("key-form").addEventListener("submit", function (event) {
      event.preventDefault();
      storeKey(byId("api-key").value.trim());
      showKeyStatus();
      init();
    });
    byId("forget-key").addEventListener("click", function () {
      storeKey("");
      byId("api-key").value = "";
      showKeyStatus();
      init();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      state.cursors = [];
      search(null);
    });
    byId("clear-filters").addEventListener("click", function () {
      var keywords = byId("keywords").value;
      writeForm(new URLSearchParams({ q: keywords, first: byId("page-size").value, lang: byId("language").value }));
    });
    byId("language").addEventListener("change", function () {
      if (state.shown) { search(new URLSearchParams(window.location.search).get("after")); }
    });
    byId("next-page").addEventListener("click", function () {
      if (!state.shown) { return; }
      state.cursors.push(new URLSearchParams(window.location.search).get("after"));
      search(state.shown.pageInfo.endCursor).then(function () { byId("results-heading").focus(); });
    });
    byId("previous-page").addEventListener("click", function () {
      if (!state.cursors.length) { return; }
      var previous = state.cursors.pop();
      search(previous).then(function () { byId("results-heading").focus(); });
    });
    byId("export-csv").addEventListener("click", exportCsv);
    byId("copy-graphql").addEventListener("click", function () {
      if (state.variables) { copy(graphqlText(state.variables), "The query and its variables are copied."); }
    });
    byId("copy-link").addEventListener("click", function () {
      copy(window.location.href, "The link to this search is copied.");
    });
    window.addEventListener("popstate", function () {
      var params = new URLSearchParams(window.location.search);
      writeForm(params);
      state.cursors = cursorsFrom(params);
      if (params.toString()) { run(params); }
    });
    await init();
  }

  async function init() {
    showMessage("");
    try {
      await loadSources();
    } catch (error) {
      showMessage(error instanceof ExplorerError ? error.message : "Something went wrong: " + error);
      return;
    }
    var params = new URLSearchParams(window.location.search);
    writeForm(params);
    state.cursors = cursorsFrom(params);
    if (params.get("q") || params.getAll("kind").length || params.get("after") || params.getAll("source").length) {
      await run(params);
    }
  }

  start();
})();
