/* ThingsNXT history chart: one key of one device over a window, drawn with uPlot from the history API.
 *
 * Markup (mounted on page load, and on htmx:load for swapped-in content):
 *   <div data-history-chart data-device-id="…" data-key="temperature" data-label="Temperature"
 *        data-window="day" data-history-url="{{ url_for('api.device_history', device_id=…) }}"></div>
 * Script:
 *   const chart = HistoryChart.mount(element, {deviceId, key, label, window: "day"});
 *   chart.setWindow("hour" | "day" | "week" | {from: Date, to: Date});
 *   chart.appendPoint(time, value);          // one live reading (Date, ISO string or epoch ms)
 *   HistoryChart.applyStateEvent(event);     // a WebSocket "state" event: feeds every chart of its device
 *   HistoryChart.csvUrl(deviceId, key, from, to);
 * The page loads uPlot first: {{ vendor_stylesheet('uplot-css') }} {{ vendor_script('uplot') }}.
 *
 * The chart asks for about 1,500 buckets at most (the server allows HISTORY_MAX_BUCKETS, 2,000 by
 * default) and draws each bucket's average with its min–max band. The server omits empty buckets;
 * the line breaks where readings stop for longer than three usual gaps (a device offline), and is
 * drawn across shorter holes (buckets narrower than the device's reporting interval).
 */
(function () {
  "use strict";

  const WINDOWS = {
    hour: { label: "Last hour", spanMs: 3600e3 },
    day: { label: "Last day", spanMs: 86400e3 },
    week: { label: "Last week", spanMs: 7 * 86400e3 },
  };
  const BUCKET_SECONDS = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];
  const MAX_BUCKETS = 1500;
  const charts = new Set();

  function bucketSecondsFor(spanMs) {
    return BUCKET_SECONDS.find((seconds) => spanMs / (seconds * 1000) <= MAX_BUCKETS) || BUCKET_SECONDS[BUCKET_SECONDS.length - 1];
  }

  function toMs(time) {
    if (time instanceof Date) return time.getTime();
    return typeof time === "number" ? time : Date.parse(time);
  }

  function plottable(value) {
    if (typeof value === "boolean") return value ? 1 : 0;
    return typeof value === "number" && Number.isFinite(value) ? value : null;
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

  class Chart {
    constructor(element, options) {
      this.element = element;
      this.deviceId = options.deviceId;
      this.key = options.key;
      this.label = options.label || options.key;
      this.historyUrl = options.historyUrl || defaultHistoryUrl(options.deviceId);
      this.height = options.height || 220;
      this.request = 0;
      this.pendingDraw = false;
      this.buckets = { x: [], avg: [], min: [], max: [], count: [] };
      this.build();
      this.setWindow(options.window || "day");
    }

    build() {
      this.element.classList.add("history-chart");
      this.element.setAttribute("role", "group");
      this.element.setAttribute("aria-label", `History of ${this.label}`);

      const controls = document.createElement("div");
      controls.className = "history-chart__controls";
      this.windowButtons = Object.entries(WINDOWS).map(([name, spec]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = spec.label;
        button.dataset.window = name;
        button.addEventListener("click", () => this.setWindow(name));
        controls.append(button);
        return button;
      });
      this.fromInput = this.dateInput(controls, "From");
      this.toInput = this.dateInput(controls, "To");
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = "Show";
      show.addEventListener("click", () => this.showCustomWindow());
      this.csvLink = document.createElement("a");
      this.csvLink.className = "history-chart__csv";
      this.csvLink.textContent = "Download CSV";
      this.csvLink.setAttribute("download", "");
      controls.append(show, this.csvLink);

      this.plotElement = document.createElement("div");
      this.plotElement.className = "history-chart__plot";
      this.plotElement.setAttribute("role", "img");
      this.status = document.createElement("p");
      this.status.className = "history-chart__status";
      this.status.setAttribute("aria-live", "polite");
      this.element.replaceChildren(controls, this.plotElement, this.status);

      this.plot = new uPlot(
        {
          width: this.width(),
          height: this.height,
          scales: { x: { time: true } },
          series: [
            {},
            { label: `${this.label} (avg)`, stroke: "#2563eb", width: 2 },
            { label: "min", stroke: "rgba(37, 99, 235, 0.25)", width: 1 },
            { label: "max", stroke: "rgba(37, 99, 235, 0.25)", width: 1 },
          ],
          bands: [{ series: [3, 2], fill: "rgba(37, 99, 235, 0.12)" }],
        },
        [[], [], [], []],
        this.plotElement,
      );
      this.resizeObserver = new ResizeObserver(() => this.plot.setSize({ width: this.width(), height: this.height }));
      this.resizeObserver.observe(this.element);
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
      return Math.max(200, this.plotElement ? this.plotElement.clientWidth || this.element.clientWidth : 600);
    }

    /** "hour" | "day" | "week" (a window that follows the clock) or {from, to} (fixed; local times in Date). */
    setWindow(window) {
      if (typeof window === "string") {
        this.relative = WINDOWS[window];
        const to = Date.now();
        this.range = { from: to - this.relative.spanMs, to };
      } else {
        this.relative = null;
        this.range = { from: toMs(window.from), to: toMs(window.to) };
      }
      this.windowButtons.forEach((button) => button.setAttribute("aria-pressed", String(this.relative === WINDOWS[button.dataset.window])));
      this.csvLink.href = csvUrl(this.deviceId, this.key, this.range.from, this.range.to, this.historyUrl);
      return this.load();
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
      this.bucketSeconds = bucketSecondsFor(this.range.to - this.range.from);
      const params = new URLSearchParams({
        key: this.key,
        from: new Date(this.range.from).toISOString(),
        to: new Date(this.range.to).toISOString(),
        bucket: String(this.bucketSeconds),
      });
      this.status.textContent = "Loading…";
      try {
        const response = await fetch(`${this.historyUrl}?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        const body = await response.json();
        if (request !== this.request) return; // a newer window was chosen meanwhile
        if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
        this.buckets = { x: [], avg: [], min: [], max: [], count: [] };
        for (const bucket of body.buckets) {
          this.buckets.x.push(Date.parse(bucket.t) / 1000);
          this.buckets.avg.push(bucket.avg);
          this.buckets.min.push(bucket.min);
          this.buckets.max.push(bucket.max);
          this.buckets.count.push(bucket.count);
        }
        this.draw();
      } catch (error) {
        if (request === this.request) this.status.textContent = `Could not load the history: ${error.message}`;
      }
    }

    /** Add one live reading; strings are not plotted. */
    appendPoint(time, value) {
      const number = plottable(value);
      const ms = toMs(time);
      if (number === null || Number.isNaN(ms) || this.bucketSeconds === undefined) return;
      if (!this.relative && (ms < this.range.from || ms >= this.range.to)) return;
      const b = this.buckets;
      const start = Math.floor(ms / 1000 / this.bucketSeconds) * this.bucketSeconds;
      const last = b.x.length - 1;
      if (last >= 0 && b.x[last] === start) {
        const count = b.count[last] + 1;
        b.avg[last] = b.avg[last] === null ? number : b.avg[last] + (number - b.avg[last]) / count;
        b.min[last] = b.min[last] === null ? number : Math.min(b.min[last], number);
        b.max[last] = b.max[last] === null ? number : Math.max(b.max[last], number);
        b.count[last] = count;
      } else if (last < 0 || start > b.x[last]) {
        b.x.push(start);
        b.avg.push(number);
        b.min.push(number);
        b.max.push(number);
        b.count.push(1);
      } else {
        return; // older than the newest bucket: the next load has it
      }
      if (this.relative) {
        this.range = { from: ms - this.relative.spanMs, to: Math.max(this.range.to, ms) };
        while (b.x.length && b.x[0] + this.bucketSeconds <= this.range.from / 1000) {
          Object.values(b).forEach((values) => values.shift());
        }
      }
      this.scheduleDraw();
    }

    scheduleDraw() {
      if (this.pendingDraw) return;
      this.pendingDraw = true;
      requestAnimationFrame(() => {
        this.pendingDraw = false;
        this.draw();
      });
    }

    draw() {
      const b = this.buckets;
      this.plot.setData(withGaps(b.x, [b.avg, b.min, b.max]));
      const latest = b.avg.length ? b.avg[b.avg.length - 1] : null;
      const numeric = b.avg.some((value) => value !== null);
      this.status.textContent = !b.x.length
        ? "No readings in this window."
        : numeric
          ? ""
          : "This key has no numeric readings in this window (download the CSV to see them).";
      this.plotElement.setAttribute(
        "aria-label",
        numeric && latest !== null ? `Chart of ${this.label}; latest average ${latest}` : `Chart of ${this.label}; no numeric readings`,
      );
    }

    destroy() {
      this.resizeObserver.disconnect();
      this.plot.destroy();
      charts.delete(this);
      delete this.element.historyChart;
    }
  }

  function mount(element, options) {
    if (element.historyChart) return element.historyChart;
    const chart = new Chart(element, options);
    element.historyChart = chart;
    charts.add(chart);
    return chart;
  }

  function mountAll(root) {
    const found = root.matches && root.matches("[data-history-chart]") ? [root] : [];
    found.push(...root.querySelectorAll("[data-history-chart]"));
    for (const element of found) {
      const data = element.dataset;
      mount(element, {
        deviceId: data.deviceId,
        key: data.key,
        label: data.label,
        window: data.window,
        historyUrl: data.historyUrl,
        height: data.height ? Number(data.height) : undefined,
      });
    }
  }

  /** A state event from the dashboard's WebSocket: each reading the device sent goes to its charts. */
  function applyStateEvent(event) {
    if (event.type !== "state" || event.source !== "device") return;
    for (const chart of charts) {
      if (chart.deviceId === event.device_id && Object.prototype.hasOwnProperty.call(event.changed, chart.key)) {
        chart.appendPoint(event.timestamp, event.changed[chart.key]);
      }
    }
  }

  window.HistoryChart = { mount, mountAll, applyStateEvent, csvUrl, bucketSecondsFor, charts };

  document.addEventListener("DOMContentLoaded", () => mountAll(document));
  document.addEventListener("htmx:load", (event) => mountAll(event.detail.elt));
  document.addEventListener("htmx:beforeCleanupElement", (event) => {
    const element = event.detail.elt;
    if (element.historyChart) element.historyChart.destroy();
  });
})();
