/* ThingsNXT history chart: one key of one device over a window, drawn with uPlot from the history API.
 *
 * Markup (mounted on page load and on htmx:load, destroyed when htmx removes it):
 *   <div id="…" data-history-chart data-device-id="…" data-key="temperature" data-label="Temperature"
 *        data-unit="°C" data-window="fit" data-history-url="/api/devices/…/history" [data-compact]></div>
 * data-window is hour, day, week, or fit: the shortest of those that holds the key's readings of the
 * last week (the server picks it). data-compact draws it small, without controls (the overview's
 * cards). The page loads uPlot first:
 * {{ vendor_stylesheet('uplot-css') }} {{ vendor_script('uplot') }}.
 *
 * Live readings arrive as elements that htmx swaps in (the dashboard's WebSocket fragments), naming
 * their chart by id, with the reading's time and its value as JSON:
 *   <data hidden data-history-point="<chart id>" data-ts="2026-11-27T10:00:05.000Z" value="21.5"></data>
 * When the page's WebSocket reconnects, every chart reloads its window: readings sent meanwhile appear.
 * When htmx redraws a chart's widget (the WebSocket's snapshot, a widget added), the chart on the new
 * element carries on from the one removed: same window and readings, no new request.
 *
 * Script: HistoryChart.mount(element, options); chart.setWindow("hour" | "day" | "week" | "fit" | {from, to});
 * chart.appendPoint(time, value); HistoryChart.csvUrl(deviceId, key, from, to).
 *
 * The chart asks for no more points than it is pixels wide (`points`): the server sends the readings
 * themselves when the window holds no more, else one bucket per pixel or so, drawn as its average with
 * the min–max band (no spike is lost). The server omits empty buckets; the line breaks where readings
 * stop for longer than three usual gaps (a device offline). The legend gives the values under the
 * cursor. The caption is the chart's text alternative ("Last day: 86400 readings in 597 points
 * (145 s averages), min 18.2 °C, max 23.4 °C, last 21.5 °C."); the element also carries data-points,
 * data-readings, data-bucket (seconds, empty for readings drawn as they are), data-from, data-to.
 * A key without numbers (strings) gets a note instead of a chart.
 */
(function () {
  "use strict";

  const WINDOWS = {
    hour: { label: "Last hour", spanMs: 3600e3 },
    day: { label: "Last day", spanMs: 86400e3 },
    week: { label: "Last week", spanMs: 7 * 86400e3 },
  };
  // Points asked for: the plot's width in pixels, within what the server allows (HISTORY_MAX_BUCKETS).
  const POINTS = { least: 60, most: 2000 };
  // Live readings drawn as they are, beyond this many times the points asked for, make the chart ask anew.
  const RAW_SLACK = 2;
  const HEIGHT = { full: 240, compact: 140 };
  const charts = new Set();
  let unnamedCharts = 0;

  function describeSeconds(seconds) {
    const units = [[604800, "week"], [86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
    const [size, name] = units.find(([unit]) => seconds % unit === 0);
    return `${seconds / size} ${name}`;
  }

  function toMs(time) {
    if (time instanceof Date) return time.getTime();
    return typeof time === "number" ? time : Date.parse(time);
  }

  function plottable(value) {
    if (typeof value === "boolean") return value ? 1 : 0;
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  // As the dashboard shows numbers (display_value in webapp/dashboard/templating.py): six significant digits.
  function formatNumber(value) {
    return String(Number(value.toPrecision(6)));
  }

  // A datetime-local input's value: local time, to the minute.
  function localInputValue(ms) {
    const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
    return date.toISOString().slice(0, 16);
  }

  function defaultHistoryUrl(deviceId) {
    return `/api/devices/${encodeURIComponent(deviceId)}/history`;
  }

  function csvUrl(deviceId, key, from, to, historyUrl) {
    const params = new URLSearchParams({ key, from: new Date(toMs(from)).toISOString(), to: new Date(toMs(to)).toISOString(), format: "csv" });
    return `${historyUrl || defaultHistoryUrl(deviceId)}?${params}`;
  }

  // Insert a null where readings stop for longer than three usual gaps, so uPlot breaks the line there.
  function withGaps(xs, series) {
    const steps = xs.slice(1).map((x, i) => x - xs[i]).sort((a, b) => a - b);
    const usual = steps.length ? steps[Math.floor(steps.length / 2)] : 0;
    const out = [[], ...series.map(() => [])];
    xs.forEach((x, i) => {
      if (i > 0 && x - xs[i - 1] > 3 * usual) {
        out[0].push(xs[i - 1] + usual);
        series.forEach((_, s) => out[s + 1].push(null));
      }
      out[0].push(x);
      series.forEach((values, s) => out[s + 1].push(values[i]));
    });
    return out;
  }

  // Per point, a bucket or a reading: start (s), numeric avg/min/max (null for strings only; min and max
  // null for a reading), readings, numeric readings, last number.
  function emptyBuckets() {
    return { x: [], avg: [], min: [], max: [], count: [], numbers: [], last: [] };
  }

  // The chart's colours are the page's (static/dashboard/app.css), so they follow a dark theme.
  function themeColours(element) {
    const style = getComputedStyle(element);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return { accent: read("--accent", "#0b6bcb"), text: read("--muted", "#5b6673"), line: read("--line", "#d9dee4") };
  }

  function translucent(colour, alpha) {
    const hex = colour.replace("#", "");
    if (!/^[0-9a-f]{6}$/i.test(hex)) return colour;
    const [r, g, b] = [0, 2, 4].map((at) => parseInt(hex.slice(at, at + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }

  class Chart {
    constructor(element, options, previous) {
      this.element = element;
      this.options = options;
      this.deviceId = options.deviceId;
      this.key = options.key;
      this.label = options.label || options.key;
      this.unit = options.unit ? ` ${options.unit}` : "";
      this.historyUrl = options.historyUrl || defaultHistoryUrl(options.deviceId);
      this.compact = Boolean(options.compact);
      this.height = options.height || (this.compact ? HEIGHT.compact : HEIGHT.full);
      this.request = 0;
      this.queued = null; // live readings that arrive while a window loads
      this.pendingDraw = false;
      this.buckets = emptyBuckets();
      this.text = null; // the newest reading that is not a number
      this.bucketSeconds = null; // null: readings drawn as they are
      this.chooseWindow(options.window || "fit");
      this.build();
      if (previous) this.continueFrom(previous);
      else this.setWindow(options.window || "fit");
    }

    /** Carry on where the chart this one replaces stopped: its window, and its readings or its load under way. */
    continueFrom(previous) {
      this.windowName = previous.windowName;
      this.range = previous.range;
      this.fitting = previous.fitting;
      this.showWindow();
      if (previous.queued) {
        this.queued = previous.queued;
        this.load();
        return;
      }
      this.buckets = previous.buckets;
      this.text = previous.text;
      this.bucketSeconds = previous.bucketSeconds;
      this.status.textContent = previous.status.textContent;
      this.draw();
    }

    build() {
      const element = this.element;
      element.classList.add("history-chart");
      element.classList.toggle("history-chart--compact", this.compact);
      element.setAttribute("role", "group");
      if (!element.hasAttribute("aria-labelledby")) element.setAttribute("aria-label", `History of ${this.label}`);

      this.caption = document.createElement("p");
      this.caption.className = "history-chart__caption";
      this.caption.id = `${element.id || `history-chart-${++unnamedCharts}`}-caption`;
      this.plotElement = document.createElement("div");
      this.plotElement.className = "history-chart__plot";
      this.plotElement.setAttribute("role", "img");
      this.plotElement.setAttribute("aria-labelledby", this.caption.id);
      this.status = document.createElement("p");
      this.status.className = "history-chart__status";
      this.status.setAttribute("aria-live", "polite");
      element.replaceChildren(...(this.compact ? [] : [this.buildControls()]), this.plotElement, this.caption, this.status);

      // The legend shows the values under the cursor, with the unit; away from the plot, the newest ones.
      const newest = (u) => {
        const values = u.data[1];
        let i = values.length - 1;
        while (i >= 0 && values[i] === null) i -= 1;
        return i < 0 ? null : i;
      };
      const value = (u, v, series, idx) => {
        const shown = idx === null ? (newest(u) === null ? null : u.data[series][newest(u)]) : v;
        return shown === null || shown === undefined ? "--" : formatNumber(shown) + this.unit;
      };
      const time = (u, v, series, idx) => {
        const i = idx === null ? newest(u) : idx;
        return i === null ? "--" : new Date(u.data[0][i] * 1000).toLocaleString();
      };
      const colours = themeColours(element);
      const axis = { stroke: colours.text, grid: { stroke: colours.line, width: 1 }, ticks: { stroke: colours.line, width: 1 } };
      this.plot = new uPlot(
        {
          width: this.width(),
          height: this.height,
          legend: { show: true, live: true },
          // The x axis spans the whole window chosen, however much of it holds readings.
          scales: { x: { time: true, range: () => [this.range.from / 1000, this.range.to / 1000] } },
          axes: [axis, axis],
          series: [
            { label: "Time", value: time },
            { label: this.label, stroke: colours.accent, width: 2, value },
            { label: "min", stroke: translucent(colours.accent, 0.35), width: 1, value },
            { label: "max", stroke: translucent(colours.accent, 0.35), width: 1, value },
          ],
          bands: [{ series: [3, 2], fill: translucent(colours.accent, 0.14) }],
        },
        [[], [], [], []],
        this.plotElement,
      );
      this.resizeObserver = new ResizeObserver(() => {
        const width = this.width();
        if (width !== this.plot.width) this.plot.setSize({ width, height: this.height });
      });
      this.resizeObserver.observe(this.element);
    }

    buildControls() {
      // A form, so that Enter in a date field shows that window.
      const controls = document.createElement("form");
      controls.className = "history-chart__controls";
      controls.addEventListener("submit", (event) => {
        event.preventDefault();
        this.showCustomWindow();
      });
      const windows = document.createElement("div");
      windows.className = "history-chart__windows";
      windows.setAttribute("role", "group");
      windows.setAttribute("aria-label", "Window");
      this.windowButtons = Object.entries(WINDOWS).map(([name, spec]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = spec.label;
        button.dataset.window = name;
        button.addEventListener("click", () => this.setWindow(name));
        windows.append(button);
        return button;
      });
      const custom = document.createElement("div");
      custom.className = "history-chart__custom";
      this.fromInput = this.dateInput(custom, "From");
      this.toInput = this.dateInput(custom, "To");
      const show = document.createElement("button");
      show.type = "submit";
      show.textContent = "Show";
      custom.append(show);
      this.csvLink = document.createElement("a");
      this.csvLink.className = "history-chart__csv";
      this.csvLink.setAttribute("download", "");
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = ` of ${this.label} in this window`;
      this.csvLink.append("Download CSV", hidden);
      // A window that follows the clock is downloaded up to the moment of the click.
      this.csvLink.addEventListener("click", () => {
        this.csvLink.href = csvUrl(this.deviceId, this.key, ...this.csvRange(), this.historyUrl);
      });
      controls.append(windows, custom, this.csvLink);
      return controls;
    }

    dateInput(container, text) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "datetime-local";
      label.append(`${text} `, input);
      container.append(label);
      return input;
    }

    width() {
      return Math.max(200, this.plotElement.clientWidth || this.element.clientWidth || 600);
    }

    /** How many points to ask for: one per pixel of the plot. */
    capacity() {
      return Math.min(POINTS.most, Math.max(POINTS.least, Math.round(this.plot ? this.plot.bbox.width / devicePixelRatio : this.width())));
    }

    chooseWindow(choice) {
      // "fit" shows the last hour until the server says which window holds the data.
      this.fitting = choice === "fit";
      const name = this.fitting ? "hour" : choice;
      if (typeof name === "string" && WINDOWS[name]) {
        this.windowName = name;
        const to = Date.now();
        this.range = { from: to - WINDOWS[name].spanMs, to };
      } else {
        this.windowName = null;
        this.range = { from: toMs(choice.from), to: toMs(choice.to) };
      }
    }

    /** "hour" | "day" | "week" (a window that follows the clock), "fit" (the one of those that holds the
     * data) or {from, to} (fixed; Dates, ISO strings or ms). */
    setWindow(choice) {
      this.chooseWindow(choice);
      this.showWindow();
      return this.load();
    }

    showWindow() {
      if (!this.windowButtons) return;
      this.windowButtons.forEach((button) => button.setAttribute("aria-pressed", String(button.dataset.window === this.windowName)));
      this.fromInput.value = localInputValue(this.range.from);
      this.toInput.value = localInputValue(this.range.to);
      this.csvLink.href = csvUrl(this.deviceId, this.key, ...this.csvRange(), this.historyUrl);
    }

    /** Load the window shown again, up to now if it follows the clock. */
    refresh() {
      return this.setWindow(this.windowName || { ...this.range });
    }

    csvRange() {
      if (!this.windowName) return [this.range.from, this.range.to];
      const to = Date.now();
      return [to - WINDOWS[this.windowName].spanMs, to];
    }

    showCustomWindow() {
      // datetime-local values carry no offset: the browser reads them as local time.
      const from = new Date(this.fromInput.value);
      const to = new Date(this.toInput.value);
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) {
        this.status.textContent = "Choose a start before the end.";
        return;
      }
      this.setWindow({ from, to });
    }

    async load() {
      const request = ++this.request;
      this.queued = this.queued || [];
      const fitting = this.fitting;
      const params = new URLSearchParams({ key: this.key, to: new Date(this.range.to).toISOString(), points: String(this.capacity()) });
      if (fitting) params.set("fit", "1");
      else params.set("from", new Date(this.range.from).toISOString());
      this.status.textContent = "Loading…";
      this.element.setAttribute("aria-busy", "true");
      let body = { bucket: null, points: [] };
      let problem = "";
      try {
        const response = await fetchHistory(`${this.historyUrl}?${params}`);
        if (!response.ok) throw new Error(response.body.message || `the server answered ${response.status}`);
        body = response.body;
      } catch (error) {
        problem = `Could not load the history: ${error.message}`;
      }
      if (request !== this.request) return; // a newer window was chosen meanwhile, or the chart is gone
      if (fitting && !problem) this.useFittedWindow(Date.parse(body.from), Date.parse(body.to));
      const range = this.range;
      this.bucketSeconds = body.bucket;
      if (body.bucket === null) this.useReadings(body.points);
      else this.useBuckets(body.buckets);
      this.status.textContent = problem;
      this.element.removeAttribute("aria-busy");
      const queued = this.queued;
      this.queued = null;
      this.draw();
      // What arrived live while loading and is newer than the window read.
      queued.filter(([ms]) => ms >= range.to).forEach(([ms, value]) => this.appendPoint(ms, value));
    }

    /** The window the server fitted to the data: one of the named windows, following the clock. */
    useFittedWindow(from, to) {
      this.fitting = false;
      const name = Object.keys(WINDOWS).find((candidate) => WINDOWS[candidate].spanMs === to - from);
      this.windowName = name || null;
      this.range = { from, to };
      this.showWindow();
    }

    useReadings(found) {
      const b = (this.buckets = emptyBuckets());
      this.text = null;
      for (const reading of found) {
        const number = plottable(reading.value);
        b.x.push(Date.parse(reading.t) / 1000);
        b.avg.push(number);
        b.min.push(null);
        b.max.push(null);
        b.count.push(1);
        b.numbers.push(number === null ? 0 : 1);
        b.last.push(number);
        if (typeof reading.value === "string") this.text = reading.value;
      }
    }

    useBuckets(found) {
      const b = (this.buckets = emptyBuckets());
      this.text = null;
      for (const bucket of found) {
        b.x.push(Date.parse(bucket.t) / 1000);
        b.avg.push(bucket.avg);
        b.min.push(bucket.min);
        b.max.push(bucket.max);
        b.count.push(bucket.count);
        // The API counts strings too; a bucket with numbers is taken as numbers only (a key rarely mixes them).
        b.numbers.push(bucket.avg === null ? 0 : bucket.count);
        b.last.push(plottable(bucket.last));
        if (typeof bucket.last === "string") this.text = bucket.last;
      }
    }

    /** Add one live reading (Date, ISO string or epoch ms). */
    appendPoint(time, value) {
      const ms = toMs(time);
      if (Number.isNaN(ms)) return;
      if (this.queued) {
        this.queued.push([ms, value]);
        return;
      }
      if (!this.windowName && (ms < this.range.from || ms >= this.range.to)) return;
      const number = plottable(value);
      const b = this.buckets;
      const raw = this.bucketSeconds === null;
      // A reading drawn as it is gets a point of its own; else it joins the newest bucket or starts the next.
      const start = raw ? ms / 1000 : Math.floor(ms / 1000 / this.bucketSeconds) * this.bucketSeconds;
      let i = b.x.length - 1;
      if (i < 0 || start > b.x[i] || (raw && start === b.x[i])) {
        Object.values(b).forEach((values) => values.push(null));
        i += 1;
        b.x[i] = start;
        b.count[i] = 0;
        b.numbers[i] = 0;
      } else if (start < b.x[i]) {
        return; // older than the newest point: the next load has it
      }
      b.count[i] += 1;
      if (number === null) {
        if (typeof value === "string") this.text = value;
      } else {
        b.numbers[i] += 1;
        b.avg[i] = b.avg[i] === null ? number : b.avg[i] + (number - b.avg[i]) / b.numbers[i];
        if (!raw) {
          b.min[i] = b.min[i] === null ? number : Math.min(b.min[i], number);
          b.max[i] = b.max[i] === null ? number : Math.max(b.max[i], number);
        }
        b.last[i] = number;
      }
      if (this.windowName) {
        const to = Math.max(this.range.to, ms + 1);
        this.range = { from: to - WINDOWS[this.windowName].spanMs, to };
        const from = this.range.from / 1000;
        const width = this.bucketSeconds || 0;
        while (b.x.length && (raw ? b.x[0] < from : b.x[0] + width <= from)) {
          Object.values(b).forEach((values) => values.shift());
        }
      }
      // More readings than pixels: ask the server for the window again, in buckets.
      if (raw && b.x.length > RAW_SLACK * this.capacity()) {
        this.refresh();
        return;
      }
      this.scheduleDraw();
    }

    scheduleDraw() {
      if (this.pendingDraw) return;
      this.pendingDraw = true;
      requestAnimationFrame(() => {
        this.pendingDraw = false;
        if (charts.has(this)) this.draw();
      });
    }

    draw() {
      const b = this.buckets;
      const points = b.avg.filter((value) => value !== null).length;
      const readings = b.count.reduce((sum, count) => sum + count, 0);
      this.plotElement.hidden = points === 0;
      this.element.classList.toggle("history-chart--raw", this.bucketSeconds === null);
      this.plot.setData(withGaps(b.x, [b.avg, b.min, b.max]));
      if (this.plot.cursor.idx === null || this.plot.cursor.idx === undefined) this.plot.setLegend({ idx: null });
      Object.assign(this.element.dataset, {
        points: String(points),
        readings: String(readings),
        bucket: this.bucketSeconds === null ? "" : String(this.bucketSeconds),
        from: new Date(this.range.from).toISOString(),
        to: new Date(this.range.to).toISOString(),
      });
      this.caption.textContent = this.describe(points, readings);
    }

    describe(points, readings) {
      const b = this.buckets;
      const shown = this.windowName
        ? WINDOWS[this.windowName].label
        : `${new Date(this.range.from).toLocaleString()} to ${new Date(this.range.to).toLocaleString()}`;
      if (readings === 0) return `${shown}: no readings.`;
      if (points === 0) {
        const example = this.text === null ? "" : ` (the last one reads “${this.text}”)`;
        return `${shown}: ${this.label} is not a number${example}, so there is nothing to chart. Download the CSV to see its readings.`;
      }
      const numbers = b.numbers.reduce((sum, count) => sum + count, 0);
      // Readings drawn as they are have no min and max of their own: they are their own.
      const raw = this.bucketSeconds === null;
      const min = Math.min(...(raw ? b.avg : b.min).filter((value) => value !== null));
      const max = Math.max(...(raw ? b.avg : b.max).filter((value) => value !== null));
      const last = [...b.last].reverse().find((value) => value !== null);
      const count = `${numbers} ${numbers === 1 ? "reading" : "readings"}`;
      const averaged =
        this.bucketSeconds !== null && points < numbers ? ` in ${points} ${points === 1 ? "point" : "points"} (${describeSeconds(this.bucketSeconds)} averages)` : "";
      const lastText = last === undefined ? "" : `, last ${formatNumber(last)}${this.unit}`;
      return `${shown}: ${count}${averaged}, min ${formatNumber(min)}${this.unit}, max ${formatNumber(max)}${this.unit}${lastText}.`;
    }

    destroy() {
      this.request += 1; // a load under way ends unused (its successor, if any, asks again)
      this.resizeObserver.disconnect();
      this.plot.destroy();
      charts.delete(this);
      delete this.element.historyChart;
      if (this.element.id) handOver(this);
    }
  }

  // htmx replaces a chart's element by a copy of it whenever the widget around it is redrawn live (the
  // WebSocket's snapshot when a page connects, a widget added or edited): the chart on the copy carries
  // on from the one removed, with the same window and readings and no new request, unless what it draws
  // changed. The copy mounts right after the swap; a removed chart waits for it a moment only.
  const handOvers = new Map();
  const HAND_OVER_MS = 1000;

  function handOver(chart) {
    const id = chart.element.id;
    handOvers.set(id, chart);
    setTimeout(() => {
      if (handOvers.get(id) === chart) handOvers.delete(id);
    }, HAND_OVER_MS);
  }

  function takeOver(id, options) {
    const previous = handOvers.get(id);
    handOvers.delete(id);
    return previous && JSON.stringify(previous.options) === JSON.stringify(options) ? previous : null;
  }

  // Charts that ask for the same buckets at once (a chart replaced while loading, and its successor) share one request.
  const requests = new Map();

  function fetchHistory(url) {
    if (!requests.has(url)) {
      const response = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(async (answer) => ({
        ok: answer.ok,
        status: answer.status,
        body: await answer.json().catch(() => ({})),
      }));
      const forget = () => requests.delete(url);
      response.then(forget, forget);
      requests.set(url, response);
    }
    return requests.get(url);
  }

  function mount(element, options) {
    if (element.historyChart) return element.historyChart;
    const chart = new Chart(element, options, element.id ? takeOver(element.id, options) : null);
    element.historyChart = chart;
    charts.add(chart);
    return chart;
  }

  function within(root, selector) {
    return [...(root.matches(selector) ? [root] : []), ...root.querySelectorAll(selector)];
  }

  function mountAll(root) {
    for (const element of within(root, "[data-history-chart]")) {
      const data = element.dataset;
      mount(element, {
        deviceId: data.deviceId,
        key: data.key,
        label: data.label,
        unit: data.unit,
        window: data.window,
        historyUrl: data.historyUrl,
        compact: "compact" in data,
        height: data.height ? Number(data.height) : undefined,
      });
    }
  }

  function appendLivePoints(root) {
    for (const point of within(root, "[data-history-point][data-ts]")) {
      const element = document.getElementById(point.dataset.historyPoint);
      if (element && element.historyChart) element.historyChart.appendPoint(point.dataset.ts, JSON.parse(point.value));
    }
  }

  window.HistoryChart = { mount, mountAll, csvUrl, charts };

  document.addEventListener("DOMContentLoaded", () => mountAll(document.body));
  // Swapped-in content: new charts, and live readings for the charts there are.
  document.addEventListener("htmx:load", (event) => {
    mountAll(event.detail.elt);
    appendLivePoints(event.detail.elt);
  });
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const element = event.detail.elt;
    if (element.historyChart) element.historyChart.destroy();
  });
  // Readings sent while the page's WebSocket was down reach no chart: reload them all when it is back.
  let socketDropped = false;
  document.addEventListener("htmx:wsClose", () => {
    socketDropped = true;
  });
  document.addEventListener("htmx:wsOpen", () => {
    if (!socketDropped) return;
    socketDropped = false;
    charts.forEach((chart) => chart.refresh());
  });
})();
