// ttv-report: the interactive parts of a report page. Plain JavaScript, no dependencies, no
// network: it reads the JSON the page embeds (#ttv-data) and draws into the page's placeholders.
// Sortable and filterable tables, curves with hover and per-variant toggles, parallel
// coordinates of the swept parameters against a metric, a diff of two runs' resolved specs,
// and, when served by `ttv-report --serve`, a reload when the store changes.
// SPDX-License-Identifier: MIT OR Apache-2.0
(function () {
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // Four significant digits, as the tables show numbers.
  function fmt(x) {
    if (typeof x !== 'number' || !isFinite(x)) return '—';
    if (x === 0) return '0';
    const mag = Math.floor(Math.log10(Math.abs(x)));
    if (mag >= 6 || mag < -4) return x.toExponential(3);
    return x.toFixed(Math.max(0, Math.min(8, 3 - mag)));
  }

  // ---------------------------------------------------------------- tables: sort and filter

  // The value a cell sorts by: its exact number where it has one, else its text.
  function sortKey(td) {
    if (!td) return { num: NaN, text: '' };
    const raw = td.dataset.sort ?? td.dataset.mean ?? td.dataset.value;
    const num = raw === undefined || raw === '' ? parseFloat(td.textContent) : parseFloat(raw);
    return { num, text: td.textContent.trim().toLowerCase() };
  }

  function compare(a, b) {
    const na = isFinite(a.num), nb = isFinite(b.num);
    if (na && nb) return a.num - b.num;
    if (na !== nb) return na ? -1 : 1; // numbers before text and blanks
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }

  function sortable(table) {
    const heads = $$('thead th', table);
    heads.forEach((th, col) => {
      th.classList.add('sorter');
      th.title = 'click to sort';
      th.addEventListener('click', () => {
        const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        heads.forEach((h) => h.removeAttribute('aria-sort'));
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).map((tr, i) => ({ tr, i, key: sortKey(tr.cells[col]) }));
        // Blanks stay last in both directions; equal keys keep their order.
        rows.sort((a, b) => {
          const blankA = !isFinite(a.key.num) && (a.key.text === '' || a.key.text === '—');
          const blankB = !isFinite(b.key.num) && (b.key.text === '' || b.key.text === '—');
          if (blankA !== blankB) return blankA ? 1 : -1;
          return dir * compare(a.key, b.key) || a.i - b.i;
        });
        rows.forEach((r) => body.appendChild(r.tr));
      });
    });
  }

  function filterable(input) {
    const table = document.getElementById(input.dataset.table);
    if (!table) return;
    const count = document.createElement('span');
    count.className = 'sub filter-count';
    input.after(count);
    const apply = () => {
      const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      const rows = Array.from(table.tBodies[0].rows);
      let shown = 0;
      rows.forEach((tr) => {
        const text = tr.textContent.toLowerCase();
        const ok = terms.every((t) => text.includes(t));
        tr.hidden = !ok;
        shown += ok ? 1 : 0;
      });
      count.textContent = terms.length ? ` ${shown} of ${rows.length} rows` : '';
    };
    input.addEventListener('input', apply);
  }

  // ---------------------------------------------------------------- curves

  const hidden = new Set(); // variant indices switched off, on every chart
  const charts = [];

  // A tick value without float noise or trailing zeros (0.30000000000000004 -> 0.3).
  const tickText = (t) => String(Number(t.toPrecision(6)));

  // About `n` round tick values covering [lo, hi].
  function ticks(lo, hi, n) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || raw;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }

  // The padded range of `vals`, stopped at the metric's bounds (an error never goes below 0).
  function domain(vals, lo, hi) {
    let a = Math.min(...vals), b = Math.max(...vals);
    if (!isFinite(a)) return [0, 1];
    const pad = b > a ? (b - a) * 0.06 : Math.max(Math.abs(a) * 0.1, 0.5);
    a -= pad; b += pad;
    if (lo !== null && lo !== undefined) a = Math.max(a, lo);
    if (hi !== null && hi !== undefined) b = Math.min(b, hi);
    if (b <= a) b = a + pad;
    return [a, b];
  }

  function lineChart(box, curve, data) {
    const W = 920, H = 360, L = 70, R = 20, T = 16, B = 44;
    const shown = curve.series.filter((s) => !hidden.has(s.variant));
    const use = shown.length ? shown : curve.series;
    const ty = (y) => (curve.log ? Math.log10(y) : y);
    const pts = use.flatMap((s) => s.points).filter((p) => !curve.log || p[1] > 0);
    const [x0, x1] = domain(pts.map((p) => p[0]), null, null);
    const [y0, y1] = domain(pts.map((p) => ty(p[1])), curve.log ? null : curve.lo, curve.log ? null : curve.hi);
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y) => T + (1 - (ty(y) - y0) / (y1 - y0)) * (H - T - B);
    let svg = `<svg xmlns="${SVG}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" class="curve-svg">`;
    svg += `<text x="${L}" y="12" class="title">${esc(curve.title)}</text>`;
    for (const t of ticks(y0, y1, 6)) {
      const y = T + (1 - (t - y0) / (y1 - y0)) * (H - T - B);
      const label = curve.log ? fmt(Math.pow(10, t)) : tickText(t);
      svg += `<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" class="grid"/><text x="${L - 6}" y="${y + 4}" text-anchor="end">${label}</text>`;
    }
    for (const t of ticks(x0, x1, 8)) {
      if (curve.integer_x && Math.abs(t - Math.round(t)) > 1e-9) continue;
      svg += `<line y1="${T}" y2="${H - B}" x1="${sx(t)}" x2="${sx(t)}" class="grid"/><text x="${sx(t)}" y="${H - B + 16}" text-anchor="middle">${tickText(t)}</text>`;
    }
    svg += `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(curve.x)}</text>`;
    svg += `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(curve.y)}</text>`;
    const drawn = [];
    for (const s of shown) {
      const v = data.variants[s.variant];
      const xy = s.points.filter((p) => !curve.log || p[1] > 0).map((p) => [sx(p[0]), sy(p[1]), p]);
      if (!xy.length) continue;
      const d = xy.map((q, i) => (i ? 'L' : 'M') + q[0].toFixed(1) + ' ' + q[1].toFixed(1)).join('');
      svg += `<path d="${d}" data-variant="${s.variant}" stroke="${v.color}" stroke-dasharray="${v.dash}" class="curve"/>`;
      if (curve.markers) for (const q of xy) svg += `<circle cx="${q[0].toFixed(1)}" cy="${q[1].toFixed(1)}" r="3" fill="${v.color}" data-variant="${s.variant}"/>`;
      drawn.push({ s, xy });
    }
    svg += `<circle r="5" class="hover-dot" cx="-10" cy="-10"/></svg>`;
    box.innerHTML = svg;
    const el = $('svg', box), dot = $('.hover-dot', box);
    let tip = $('.tip', box.parentNode);
    if (!tip) {
      tip = document.createElement('div');
      tip.className = 'tip';
      tip.hidden = true;
      box.parentNode.appendChild(tip);
    }
    el.addEventListener('mousemove', (ev) => {
      const r = el.getBoundingClientRect();
      const mx = ((ev.clientX - r.left) * W) / r.width, my = ((ev.clientY - r.top) * H) / r.height;
      let best = null, bd = 900; // within 30 px
      for (const { s, xy } of drawn) {
        for (const q of xy) {
          const dd = (q[0] - mx) ** 2 + (q[1] - my) ** 2;
          if (dd < bd) { bd = dd; best = { s, q }; }
        }
      }
      if (!best) { tip.hidden = true; dot.setAttribute('cx', -10); return; }
      dot.setAttribute('cx', best.q[0]); dot.setAttribute('cy', best.q[1]);
      tip.hidden = false;
      tip.textContent = `${best.s.name} · ${curve.x} ${fmt(best.q[2][0])} · ${fmt(best.q[2][1])}`;
      tip.style.left = `${ev.pageX + 12}px`; tip.style.top = `${ev.pageY + 12}px`;
    });
    el.addEventListener('mouseleave', () => { tip.hidden = true; });
  }

  // The legend of one chart: each variant's line as drawn; a click hides or shows it everywhere.
  // Series of different variants with identical points are said, not left to hide each other.
  function legend(box, curve, data) {
    const variants = [...new Set(curve.series.map((s) => s.variant))];
    const byPoints = new Map();
    for (const s of curve.series) {
      const key = JSON.stringify(s.points);
      byPoints.set(key, (byPoints.get(key) || new Set()).add(s.variant));
    }
    const same = new Set();
    for (const vs of byPoints.values()) if (vs.size > 1) same.add([...vs].sort((a, b) => a - b).join(','));
    let html = '';
    for (const v of variants) {
      const look = data.variants[v];
      const off = hidden.has(v) ? ' off' : '';
      html += `<span class="legend-entry${off}" data-variant="${v}" role="button" tabindex="0">` +
        `<svg width="28" height="10"><line x1="1" x2="27" y1="5" y2="5" stroke="${look.color}" stroke-width="3" stroke-dasharray="${look.dash}"/></svg>${esc(look.label)}</span>`;
    }
    const notes = [...same].map((g) => g.split(',').map((v) => esc(data.variants[v].label)))
      .map((ls) => `${ls.length} variants have identical curves here (${ls.join(', ')}): they overlap.`);
    const all = variants.length > 2 ? '<button type="button" data-all="show">show all</button> <button type="button" data-all="hide">hide all</button> ' : '';
    box.innerHTML = all + html + notes.map((n) => `<div class="note">${n}</div>`).join('');
    $$('button[data-all]', box).forEach((b) => b.addEventListener('click', () => {
      for (const v of variants) if (b.dataset.all === 'hide') hidden.add(v); else hidden.delete(v);
      redraw();
    }));
    $$('.legend-entry', box).forEach((e) => {
      const toggle = () => {
        const v = Number(e.dataset.variant);
        if (hidden.has(v)) hidden.delete(v); else hidden.add(v);
        redraw();
      };
      e.addEventListener('click', toggle);
      e.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(); } });
    });
  }

  function redraw() {
    for (const c of charts) {
      const curve = c.curve();
      if (!curve) continue;
      lineChart($('.plot', c.box), curve, c.data);
      legend($('.legend', c.box), curve, c.data);
    }
  }

  function chart(box, data, curve) {
    box.innerHTML = '<div class="plot"></div><div class="legend legend-toggle"></div>';
    charts.push({ box, data, curve });
  }

  // ---------------------------------------------------------------- parallel coordinates

  // A variant's mean of run results `key` over its finished runs.
  function variantMean(data, v, key) {
    const vals = data.runs.filter((r) => r.variant === v && r.done && typeof r.results[key] === 'number').map((r) => r.results[key]);
    return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  }

  // An axis of a swept parameter: numbers on a linear scale, anything else as categories;
  // variants that do not set it sit at the bottom, labelled "(unset)".
  function axisOf(name, values) {
    const unset = (x) => x === undefined || x === null;
    const set = values.filter((x) => !unset(x));
    if (set.length && set.every((x) => isFinite(Number(x)))) {
      const nums = set.map(Number), base = set.length < values.length ? 0.12 : 0;
      const lo = Math.min(...nums), hi = Math.max(...nums);
      const pos = (x) => (unset(x) ? 0 : base + (1 - base) * (hi > lo ? (Number(x) - lo) / (hi - lo) : 0.5));
      const ticks = [...new Set(nums)].sort((a, b) => a - b).map(String);
      return { name, pos, ticks: base ? ['(unset)'].concat(ticks) : ticks };
    }
    const cats = [...new Set(values.map((x) => (unset(x) ? '(unset)' : String(x))))].sort();
    const at = (x) => cats.indexOf(unset(x) ? '(unset)' : String(x));
    return { name, pos: (x) => (cats.length > 1 ? at(x) / (cats.length - 1) : 0.5), ticks: cats };
  }

  function parcoords(box, data, key) {
    const metric = data.metrics.find((m) => m.key === key);
    if (!metric) { box.textContent = 'No metric to show yet.'; return; }
    const means = data.variants.map((_, v) => variantMean(data, v, key));
    const have = means.filter((m) => m !== null);
    const W = 920, H = 340, T = 36, B = 30, L = 60, R = 90;
    const axes = data.params.map((p) => axisOf(p, data.variants.map((v) => v.settings[p])));
    const lo = Math.min(...have), hi = Math.max(...have);
    // Better at the top of the metric's axis.
    const good = (x) => (hi > lo ? (metric.better === 'lower' ? (hi - x) / (hi - lo) : (x - lo) / (hi - lo)) : 0.5);
    axes.push({ name: `${metric.title} (${metric.better} is better)`, pos: good, ticks: [lo, hi], metric: true });
    const n = axes.length, ax = (i) => L + (n > 1 ? (i * (W - L - R)) / (n - 1) : (W - L - R) / 2);
    const ay = (t) => T + (1 - t) * (H - T - B);
    let svg = `<svg xmlns="${SVG}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" class="pc-svg">`;
    data.variants.forEach((v, i) => {
      const m = means[i];
      if (m === null) return;
      const ys = axes.map((a, k) => (a.metric ? a.pos(m) : a.pos(v.settings[data.params[k]])));
      const t = good(m);
      const color = `hsl(${Math.round(t * 120)},70%,42%)`; // red (worst) to green (best)
      const d = ys.map((y, k) => (k ? 'L' : 'M') + ax(k).toFixed(1) + ' ' + ay(y).toFixed(1)).join('');
      svg += `<path d="${d}" stroke="${color}" class="pc-line" data-variant="${i}"><title>${esc(v.label)}: ${esc(metric.title)} ${fmt(m)}</title></path>`;
    });
    axes.forEach((a, k) => {
      svg += `<line x1="${ax(k)}" x2="${ax(k)}" y1="${T}" y2="${H - B}" class="pc-axis"/>`;
      const anchor = n > 1 && k === n - 1 ? 'end' : k === 0 && n > 1 ? 'start' : 'middle';
      svg += `<text x="${ax(k)}" y="${T - 14}" text-anchor="${anchor}" class="title">${esc(a.name)}</text>`;
      const labels = a.metric ? [lo, hi] : a.ticks.length > 12 ? [a.ticks[0], a.ticks[a.ticks.length - 1]] : a.ticks;
      for (const t of labels) {
        const y = ay(a.metric ? good(t) : a.pos(t === '(unset)' ? undefined : t));
        svg += `<text x="${ax(k) + 6}" y="${y + 4}">${esc(a.metric ? fmt(t) : t)}</text>`;
      }
    });
    svg += '</svg>';
    const missing = means.length - have.length;
    box.innerHTML = have.length ? svg + (missing ? `<p class="sub">${missing} variant(s) have no ${esc(metric.title)} yet.</p>` : '')
      : `<p>No variant has ${esc(metric.title)} yet.</p>`;
  }

  // ---------------------------------------------------------------- run diff

  function runDiff(data) {
    const a = $('#diff-a'), b = $('#diff-b'), out = $('#diff-out');
    if (!a || !b || !out || data.runs.length === 0) return;
    data.runs.forEach((r, i) => {
      const text = `${r.run} · ${data.variants[r.variant].label} · seed ${r.seed} · ${r.state}`;
      a.add(new Option(text, i)); b.add(new Option(text, i));
    });
    b.selectedIndex = Math.min(1, data.runs.length - 1);
    const value = (r, k) => (k in r.spec ? r.spec[k] : k in data.spec_common ? data.spec_common[k] : undefined);
    const show = () => {
      const ra = data.runs[a.value], rb = data.runs[b.value];
      const keys = [...new Set(Object.keys(ra.spec).concat(Object.keys(rb.spec)))].sort();
      const rows = keys.filter((k) => value(ra, k) !== value(rb, k));
      const total = Object.keys(data.spec_common).length + data.spec_varying.length;
      let html = `<p class="sub">${rows.length} of ${total} resolved spec fields differ.</p>`;
      if (rows.length) {
        html += `<table id="diff-table"><thead><tr><th>field</th><th>${esc(ra.run)}</th><th>${esc(rb.run)}</th></tr></thead><tbody>`;
        for (const k of rows) html += `<tr><td><code>${esc(k)}</code></td><td>${esc(value(ra, k) ?? '(unset)')}</td><td>${esc(value(rb, k) ?? '(unset)')}</td></tr>`;
        html += '</tbody></table>';
      }
      out.innerHTML = html;
    };
    a.addEventListener('change', show); b.addEventListener('change', show);
    show();
  }

  // ---------------------------------------------------------------- live reload under --serve

  function live() {
    const meta = $('meta[name="ttv-live"]');
    if (!meta || !location.protocol.startsWith('http')) return;
    let seen = null;
    const poll = () => fetch(meta.content, { cache: 'no-store' })
      .then((r) => r.json())
      .then((s) => {
        if (seen !== null && s.generation !== seen) {
          sessionStorage.setItem('ttv-scroll', String(scrollY)); // read back after the reload
          location.reload();
        }
        seen = s.generation;
      })
      .catch(() => {}) // the server stopped: keep the page as it is
      .finally(() => setTimeout(poll, 3000));
    poll();
  }

  // ---------------------------------------------------------------- start

  function start() {
    $$('table.sortable').forEach(sortable);
    $$('input.filter').forEach(filterable);
    live();
    const node = $('#ttv-data');
    if (!node) return;
    const data = JSON.parse(node.textContent);
    const loss = $('#curve-loss');
    if (loss) {
      const curve = data.curves.find((c) => c.id === 'loss');
      if (curve) chart(loss, data, () => curve); else loss.textContent = 'No run has logged a training loss yet.';
    }
    const evalBox = $('#curve-eval'), evalSel = $('#eval-metric');
    const evals = data.curves.filter((c) => c.id.startsWith('eval:'));
    if (evalBox && evalSel) {
      evals.forEach((c) => evalSel.add(new Option(c.y, c.id)));
      if (evals.length) {
        chart(evalBox, data, () => evals.find((c) => c.id === evalSel.value));
        evalSel.addEventListener('change', redraw);
      } else evalBox.textContent = 'No finished run has eval metrics yet.';
    }
    redraw();
    const pcBox = $('#parcoords'), pcSel = $('#pc-metric');
    if (pcBox && pcSel) {
      if (!data.params.length) pcBox.textContent = 'No parameter is swept: nothing to compare across.';
      else {
        data.metrics.forEach((m) => pcSel.add(new Option(m.title, m.key)));
        const draw = () => parcoords(pcBox, data, pcSel.value);
        pcSel.addEventListener('change', draw);
        draw();
      }
    }
    runDiff(data);
    if (location.protocol.startsWith('http')) {
      const y = sessionStorage.getItem('ttv-scroll');
      sessionStorage.removeItem('ttv-scroll');
      if (y !== null) scrollTo(0, Number(y));
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
