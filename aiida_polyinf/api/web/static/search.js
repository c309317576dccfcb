// The search page of the read-only polymer database: plain JavaScript over the JSON API (/api/v1), no libraries.
// Every piece of data goes into the page as text (textContent, attributes, URL parameters), never as HTML.
'use strict';

(() => {
  const form = document.getElementById('search-form');
  const API = form.dataset.api;
  const ROOT = form.dataset.root;
  const SVG = 'http://www.w3.org/2000/svg';
  const PAGE_SIZE = 25;
  const PLOT_PAGE_SIZE = 500;
  const PLOT_MAX_PAGES = 20; // at most 10 000 points per series
  const BINS = 20;
  const $ = (id) => document.getElementById(id);
  const state = {page: 1, units: {}, seq: 0, plotSeq: 0, background: new Map()};

  // --- helpers -------------------------------------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    node.append(...children); // strings become text nodes
    return node;
  }

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fmt(value) {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'number') return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
    return value.toPrecision(4);
  }

  function withUnit(name) {
    const unit = state.units[name];
    return unit ? `${name} [${unit}]` : name;
  }

  async function getJSON(path, params) {
    const response = await fetch(`${API}${path}?${params || ''}`, {headers: {Accept: 'application/json'}});
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    if (!response.ok) {
      const reason = body && body.error ? `${body.item}: ${body.error}` : `HTTP ${response.status}`;
      throw new Error(reason);
    }
    return body;
  }

  function showError(error) {
    const box = $('error');
    box.textContent = error ? String(error.message || error) : '';
    box.hidden = !error;
  }

  function fillSelect(select, names, keep, blank) {
    const previous = keep !== undefined ? keep : select.value;
    select.replaceChildren();
    if (blank !== undefined) select.append(el('option', {value: ''}, blank));
    for (const name of names) select.append(el('option', {value: name}, withUnit(name)));
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  }

  // --- the selection -------------------------------------------------------------------------------------------

  function selectionParams() {
    const params = new URLSearchParams();
    const group = $('group').value;
    if (group) params.set('group', group);
    for (const key of ['q', 'smarts', 'similar_to']) {
      const value = $(key).value.trim();
      if (value) params.set(key, value);
    }
    if (params.has('similar_to')) params.set('min_similarity', $('min_similarity').value || '0.5');
    const name = $('range-name').value;
    const low = $('range-low').value.trim();
    const high = $('range-high').value.trim();
    if (name && (low || high)) params.append('range', `${name}:${low}:${high}`);
    return params;
  }

  function restoreFromLocation() {
    const params = new URLSearchParams(window.location.search);
    for (const key of ['q', 'smarts', 'similar_to', 'min_similarity']) {
      if (params.has(key)) $(key).value = params.get(key);
    }
    const range = params.get('range');
    if (range) {
      const [name, low = '', high = ''] = range.split(':');
      state.wantedRange = name;
      $('range-low').value = low;
      $('range-high').value = high;
    }
    state.wantedX = params.get('x') || undefined;
    state.wantedY = params.get('y') || undefined;
    state.page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
    return params.get('group') || '';
  }

  function remember(params) {
    const shown = new URLSearchParams(params);
    if ($('plot-x').value) shown.set('x', $('plot-x').value);
    if ($('plot-y').value) shown.set('y', $('plot-y').value);
    if (state.page > 1) shown.set('page', state.page);
    const query = shown.toString();
    window.history.replaceState(null, '', query ? `?${query}` : window.location.pathname);
  }

  function updateDownloads(params) {
    const group = params.get('group');
    for (const format of ['csv', 'parquet', 'manifest']) {
      const link = $(`download-${format}`);
      if (group) {
        const query = new URLSearchParams(params);
        query.set('format', format);
        link.href = `${API}/dataset?${query}`;
        link.classList.remove('disabled');
        link.removeAttribute('aria-disabled');
      } else {
        link.removeAttribute('href');
        link.classList.add('disabled');
        link.setAttribute('aria-disabled', 'true');
      }
    }
    $('download-note').textContent = group ? `group ${group}, as polyinf export writes it`
      : 'choose a group to download its selection';
  }

  // --- groups and value columns --------------------------------------------------------------------------------

  async function loadGroups(wanted) {
    const data = await getJSON('/groups');
    const select = $('group');
    select.replaceChildren(el('option', {value: ''}, '(every polymer)'));
    for (const group of data.groups) {
      select.append(el('option', {value: group.label}, `${group.label} (${group.polymers})`));
    }
    if (data.groups.some((g) => g.label === wanted)) select.value = wanted;
  }

  async function loadColumns() {
    const group = $('group').value;
    const data = await getJSON('/properties', group ? new URLSearchParams({group}) : '');
    state.units = Object.fromEntries(data.columns.map((c) => [c.name, c.unit]));
    const all = data.columns.map((c) => c.name);
    const base = new Set(all);
    // The plots offer the values themselves, not their _std, _min, _max and _count columns.
    const main = all.filter((name) => {
      const match = name.match(/^(.*)_(std|min|max|count)$/);
      return !(match && base.has(match[1]));
    });
    fillSelect($('range-name'), all, state.wantedRange, '(none)');
    const x = state.wantedX || $('plot-x').value || (main.includes('density') ? 'density' : main[0]);
    fillSelect($('plot-x'), main, x, '(none)');
    const y = state.wantedY || $('plot-y').value || main.find((name) => name !== $('plot-x').value) || '';
    fillSelect($('plot-y'), main, y, '(none)');
    state.wantedRange = state.wantedX = state.wantedY = undefined;
    showUnit();
  }

  function showUnit() {
    const name = $('range-name').value;
    $('range-unit').textContent = name && state.units[name] ? state.units[name] : '';
  }

  // --- results -------------------------------------------------------------------------------------------------

  function renderTable(data) {
    const head = $('results-head');
    const body = $('results-body');
    const count = $('result-count');
    head.replaceChildren();
    body.replaceChildren();
    if (!data) {
      count.textContent = '';
      count.dataset.total = '';
      $('page-info').textContent = '';
      $('prev-page').disabled = $('next-page').disabled = true;
      return;
    }
    const names = [];
    for (const item of data.items) {
      for (const name of Object.keys(item.values)) if (!names.includes(name)) names.push(name);
    }
    for (const title of ['structure', 'repeat unit', 'source ids', 'protocol']) head.append(el('th', {}, title));
    for (const name of names) head.append(el('th', {'data-name': name}, withUnit(name)));
    for (const item of data.items) {
      const href = `${ROOT}/polymer/${encodeURIComponent(item.uuid)}`;
      const image = el('img', {alt: item.smiles, width: '140', height: '100', loading: 'lazy', class: 'structure'});
      image.src = `${API}/depict.svg?width=140&height=100&smiles=${encodeURIComponent(item.smiles)}`;
      const row = el('tr', {'data-uuid': item.uuid},
        el('td', {}, el('a', {href}, image)),
        el('td', {class: 'smiles'}, el('a', {href, class: 'polymer-link'}, item.smiles)),
        el('td', {}, item.source_ids.join(', ')),
        el('td', {}, item.protocol || ''));
      for (const name of names) row.append(el('td', {class: 'num', 'data-name': name}, fmt(item.values[name])));
      body.append(row);
    }
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    count.textContent = `${data.total} polymer${data.total === 1 ? '' : 's'}`;
    count.dataset.total = String(data.total);
    $('page-info').textContent = `page ${data.page} of ${pages}`;
    $('prev-page').disabled = data.page <= 1;
    $('next-page').disabled = data.page >= pages;
  }

  async function search() {
    const seq = ++state.seq;
    const count = $('result-count');
    count.dataset.state = 'loading';
    showError(null);
    const params = selectionParams();
    updateDownloads(params);
    remember(params);
    const query = new URLSearchParams(params);
    query.set('page', state.page);
    query.set('page_size', PAGE_SIZE);
    try {
      const data = await getJSON('/polymers', query);
      if (seq !== state.seq) return;
      renderTable(data);
      count.dataset.state = 'ready';
    } catch (error) {
      if (seq !== state.seq) return;
      renderTable(null);
      showError(error);
      count.dataset.state = 'error';
    }
    await plots();
  }

  // --- plots ---------------------------------------------------------------------------------------------------

  async function allRows(params, fields) {
    const items = [];
    let total = 0;
    for (let page = 1; page <= PLOT_MAX_PAGES; page += 1) {
      const query = new URLSearchParams(params);
      query.set('fields', fields);
      query.set('page', page);
      query.set('page_size', PLOT_PAGE_SIZE);
      const data = await getJSON('/polymers', query);
      items.push(...data.items);
      total = data.total;
      if (items.length >= total || !data.items.length) break;
    }
    return {items, total};
  }

  function key(item) { return `${item.uuid}|${item.protocol}`; }

  function finite(value) { return typeof value === 'number' && Number.isFinite(value); }

  function scale(values, from, to) {
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (!(hi > lo)) { const pad = Math.abs(lo) * 0.05 || 1; lo -= pad; hi += pad; }
    const f = (v) => from + ((v - lo) / (hi - lo)) * (to - from);
    f.lo = lo; f.hi = hi;
    return f;
  }

  const BOX = {left: 58, right: 410, top: 12, bottom: 250};

  function axes(plot, xLabel, yLabel, xs, ys) {
    plot.append(svg('line', {x1: BOX.left, y1: BOX.bottom, x2: BOX.right, y2: BOX.bottom, class: 'axis'}));
    plot.append(svg('line', {x1: BOX.left, y1: BOX.top, x2: BOX.left, y2: BOX.bottom, class: 'axis'}));
    plot.append(svg('text', {x: BOX.left, y: BOX.bottom + 16, class: 'tick', 'text-anchor': 'start'}, fmt(xs.lo)));
    plot.append(svg('text', {x: BOX.right, y: BOX.bottom + 16, class: 'tick', 'text-anchor': 'end'}, fmt(xs.hi)));
    plot.append(svg('text', {x: (BOX.left + BOX.right) / 2, y: BOX.bottom + 40, class: 'label',
      'text-anchor': 'middle'}, xLabel));
    plot.append(svg('text', {x: BOX.left - 4, y: BOX.bottom, class: 'tick', 'text-anchor': 'end'}, fmt(ys.lo)));
    plot.append(svg('text', {x: BOX.left - 4, y: BOX.top + 10, class: 'tick', 'text-anchor': 'end'}, fmt(ys.hi)));
    plot.append(svg('text', {x: 14, y: (BOX.top + BOX.bottom) / 2, class: 'label', 'text-anchor': 'middle',
      transform: `rotate(-90 14 ${(BOX.top + BOX.bottom) / 2})`}, yLabel));
  }

  function drawHistogram(x, background, selected) {
    const plot = $('histogram');
    plot.replaceChildren();
    const bg = background.items.map((i) => i.values[x]).filter(finite);
    const sel = selected.items.map((i) => i.values[x]).filter(finite);
    $('histogram-caption').textContent = x
      ? `${withUnit(x)}: ${sel.length} of the results, ${bg.length} of ${$('group').value ? 'the group' : 'all'} `
        + 'have a value' : '';
    if (!x || !(bg.length + sel.length)) {
      plot.append(svg('text', {x: 210, y: 150, 'text-anchor': 'middle', class: 'empty'}, 'no values to plot'));
      return;
    }
    const xs = scale(bg.concat(sel), BOX.left, BOX.right);
    const width = (xs.hi - xs.lo) / BINS;
    const count = (values) => {
      const bins = new Array(BINS).fill(0);
      for (const v of values) bins[Math.min(BINS - 1, Math.floor((v - xs.lo) / width))] += 1;
      return bins;
    };
    const bgBins = count(bg);
    const selBins = count(sel);
    const ys = scale([0, Math.max(...bgBins, ...selBins)], BOX.bottom, BOX.top);
    ys.lo = 0;
    const step = (BOX.right - BOX.left) / BINS;
    for (const [bins, cls, inset] of [[bgBins, 'bar background', 0.5], [selBins, 'bar selected', 3]]) {
      bins.forEach((n, i) => {
        if (!n) return;
        const bar = svg('rect', {x: BOX.left + i * step + inset, y: ys(n), width: Math.max(1, step - 2 * inset),
          height: BOX.bottom - ys(n), class: cls, 'data-count': n});
        bar.append(svg('title', {}, `${fmt(xs.lo + i * width)} … ${fmt(xs.lo + (i + 1) * width)}: ${n}`));
        plot.append(bar);
      });
    }
    axes(plot, withUnit(x), 'polymers', xs, ys);
  }

  function drawScatter(x, y, background, selected) {
    const plot = $('scatter');
    plot.replaceChildren();
    const points = (rows) => rows.items.filter((i) => finite(i.values[x]) && finite(i.values[y]));
    const chosen = new Set(selected.items.map(key));
    const bg = points(background).filter((i) => !chosen.has(key(i)));
    const sel = points(selected);
    $('scatter-caption').textContent = x && y
      ? `${withUnit(y)} against ${withUnit(x)}: ${sel.length} of the results, ${bg.length + sel.length} in all` : '';
    if (!x || !y || !(bg.length + sel.length)) {
      plot.append(svg('text', {x: 210, y: 150, 'text-anchor': 'middle', class: 'empty'}, 'no values to plot'));
      return;
    }
    const all = bg.concat(sel);
    const xs = scale(all.map((i) => i.values[x]), BOX.left + 6, BOX.right - 6);
    const ys = scale(all.map((i) => i.values[y]), BOX.bottom - 6, BOX.top + 6);
    for (const [rows, cls] of [[bg, 'point background'], [sel, 'point selected']]) {
      for (const item of rows) {
        const link = svg('a', {href: `${ROOT}/polymer/${encodeURIComponent(item.uuid)}`});
        const dot = svg('circle', {cx: xs(item.values[x]), cy: ys(item.values[y]), r: cls.endsWith('selected') ? 4 : 3,
          class: cls, 'data-uuid': item.uuid});
        dot.append(svg('title', {}, `${item.smiles}: ${fmt(item.values[x])}, ${fmt(item.values[y])}`));
        link.append(dot);
        plot.append(link);
      }
    }
    axes(plot, withUnit(x), withUnit(y), xs, ys);
  }

  async function plots() {
    const seq = ++state.plotSeq;
    const section = $('plots-section');
    section.dataset.state = 'loading';
    const x = $('plot-x').value;
    const y = $('plot-y').value;
    const group = $('group').value;
    $('legend-background').textContent = group ? `every polymer of ${group}` : 'every polymer';
    const fields = [...new Set([x, y].filter(Boolean))].join(',');
    let background = {items: [], total: 0};
    let selected = {items: [], total: 0};
    try {
      if (fields && $('result-count').dataset.state === 'ready') {
        const cacheKey = `${group}|${fields}`;
        if (!state.background.has(cacheKey)) {
          state.background.set(cacheKey, allRows(group ? new URLSearchParams({group}) : '', fields));
        }
        [background, selected] = await Promise.all([state.background.get(cacheKey),
          allRows(selectionParams(), fields)]);
      }
    } catch (error) {
      if (seq !== state.plotSeq) return;
      state.background.clear();
      showError(error);
    }
    if (seq !== state.plotSeq) return;
    drawHistogram(x, background, selected);
    drawScatter(x, y, background, selected);
    section.dataset.state = 'ready';
  }

  // --- wiring --------------------------------------------------------------------------------------------------

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    state.page = 1;
    search();
  });
  form.addEventListener('reset', (event) => {
    event.preventDefault();
    for (const id of ['q', 'smarts', 'similar_to', 'range-low', 'range-high']) $(id).value = '';
    $('min_similarity').value = '0.5';
    $('range-name').value = '';
    showUnit();
    state.page = 1;
    search();
  });
  $('group').addEventListener('change', async () => {
    state.page = 1;
    $('result-count').dataset.state = 'loading'; // at once: the search follows the group's value columns
    $('plots-section').dataset.state = 'loading';
    try { await loadColumns(); } catch (error) { showError(error); }
    search();
  });
  $('range-name').addEventListener('change', showUnit);
  for (const id of ['plot-x', 'plot-y']) {
    $(id).addEventListener('change', () => { remember(selectionParams()); plots(); });
  }
  $('prev-page').addEventListener('click', () => { state.page = Math.max(1, state.page - 1); search(); });
  $('next-page').addEventListener('click', () => { state.page += 1; search(); });

  (async () => {
    const group = restoreFromLocation();
    try {
      await loadGroups(group);
      await loadColumns();
    } catch (error) {
      showError(error);
    }
    search();
  })();
})();
