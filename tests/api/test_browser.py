"""The web pages in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by
Selenium, against the app served by uvicorn in a thread over a profile holding a PI1070 slice and a computed group.

Screenshots are kept under the test's ``tmp_path`` and copied to ``tests/api/artefacts/`` (ignored by git).
"""

import base64
import json
import pathlib
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner

ARTEFACTS = pathlib.Path(__file__).resolve().parent / 'artefacts'
API = '/api/v1'
WAIT = 30  # seconds: a busy 2-core machine


def _browser_binaries():
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    driver = shutil.which('chromedriver')
    if not chromium or not driver:
        pytest.skip(f'headless browser tests need Debian\'s chromium and chromium-driver (found chromium={chromium}, '
                    f'chromedriver={driver}): run setup/system-deps.sh')
    return chromium, driver


@pytest.fixture(scope='module')
def browser():
    chromium, driver_path = _browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
                     '--window-size=1400,1000', '--no-first-run', '--disable-extensions', '--lang=en-US'):
        options.add_argument(argument)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


@pytest.fixture
def site(aiida_profile_clean, pi1070_slice, computed_group):
    """The app with its pages, served on a free 127.0.0.1 port; yields the base URL."""
    import uvicorn

    from aiida_polyinf.api import readonly
    from aiida_polyinf.api.app import create_app
    from aiida_polyinf.api.pages import register
    from aiida_polyinf.campaign.intake import import_rows
    from aiida_polyinf.export.radonpy import import_radonpy

    import_radonpy(pi1070_slice, group_label='radonpy/slice')
    import_rows([{'id': '<b>bold</b>', 'smiles': '*CC(*)Br'}], 'test/markup', source='test')  # must stay text
    app = create_app(aiida_profile_clean.name)
    if not any(getattr(route, 'path', None) == '/' for route in app.routes):  # until create_app registers them
        register(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level='warning', lifespan='off'))
    thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, 'uvicorn did not start'
        time.sleep(0.05)
    try:
        yield f'http://127.0.0.1:{port}'
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()
        readonly.undo(app.state.storage)


def _get_json(url):
    with urllib.request.urlopen(url, timeout=WAIT) as response:
        return json.loads(response.read())


def _shot(driver, tmp_path, name):
    """A screenshot of the whole page (not only the window), kept with the test and in tests/api/artefacts/."""
    path = tmp_path / f'{name}.png'
    size = driver.execute_cdp_cmd('Page.getLayoutMetrics', {})['cssContentSize']
    clip = {'x': 0, 'y': 0, 'width': size['width'], 'height': min(size['height'], 8000), 'scale': 1}
    shot = driver.execute_cdp_cmd('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True,
                                                             'clip': clip})
    path.write_bytes(base64.b64decode(shot['data']))
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTEFACTS / path.name)
    return path


def _wait(driver, condition, message):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(lambda d: condition(d), message)


def _ready(driver):
    """Wait until the search page has its results and plots of the last search."""
    from selenium.webdriver.common.by import By

    def done(d):
        count = d.find_element(By.ID, 'result-count').get_attribute('data-state')
        plots = d.find_element(By.ID, 'plots-section').get_attribute('data-state')
        return count in ('ready', 'error') and plots == 'ready'

    _wait(driver, done, 'the search page did not finish loading')
    error = driver.find_element(By.ID, 'error')
    return None if not error.is_displayed() else error.text


def _search(driver, **fields):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    group = fields.pop('group', None)
    if group is not None:
        Select(driver.find_element(By.ID, 'group')).select_by_value(group)
        _ready(driver)  # a new group reloads its value columns and searches
    for name, value in fields.items():
        box = driver.find_element(By.ID, name)
        box.clear()
        box.send_keys(value)
    driver.find_element(By.ID, 'search-button').click()
    return _ready(driver)


def _no_script_errors(driver):
    """No exception in the page's script and nothing refused by its content security policy (a failed fetch, which
    the page shows as an error, is fine)."""
    severe = [e['message'] for e in driver.get_log('browser') if e['level'] == 'SEVERE']
    assert not [m for m in severe if 'Failed to load resource' not in m], severe


def _rows(driver):
    from selenium.webdriver.common.by import By

    return [{'uuid': row.get_attribute('data-uuid'),
             'smiles': row.find_element(By.CSS_SELECTOR, 'a.polymer-link').text,
             'href': row.find_element(By.CSS_SELECTOR, 'a.polymer-link').get_attribute('href'),
             'image': row.find_element(By.CSS_SELECTOR, 'img.structure')}
            for row in driver.find_elements(By.CSS_SELECTOR, '#results-body tr')]


def test_search_plot_and_download(site, browser, tmp_path):
    from rdkit import Chem
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from aiida_polyinf.cli import cmd_root

    browser.get(f'{site}/')
    assert _ready(browser) is None
    groups = [o.get_attribute('value') for o in Select(browser.find_element(By.ID, 'group')).options]
    assert groups == ['', 'radonpy/slice', 'test/computed', 'test/markup']
    assert int(browser.find_element(By.ID, 'result-count').get_attribute('data-total')) >= 28
    assert browser.find_element(By.ID, 'download-csv').get_attribute('href') is None  # no group: nothing to download

    # Substructure: the polymers with a benzene ring, every one of them drawn.
    assert _search(browser, group='radonpy/slice', smarts='c1ccccc1') is None
    rows = _rows(browser)
    expected = _get_json(f'{site}{API}/polymers?' + urllib.parse.urlencode({'group': 'radonpy/slice',
                                                                            'smarts': 'c1ccccc1'}))
    assert rows and [r['uuid'] for r in rows] == [item['uuid'] for item in expected['items']]
    benzene = Chem.MolFromSmarts('c1ccccc1')
    assert all(Chem.MolFromSmiles(r['smiles']).HasSubstructMatch(benzene) for r in rows)
    _wait(browser, lambda d: all(d.execute_script('return arguments[0].complete && arguments[0].naturalWidth > 0',
                                                  r['image']) for r in rows), 'structure images did not load')

    # Plots: density against Rg; the slice in grey, the results in colour.
    Select(browser.find_element(By.ID, 'plot-x')).select_by_value('density')
    Select(browser.find_element(By.ID, 'plot-y')).select_by_value('Rg')
    _ready(browser)
    selected = browser.find_elements(By.CSS_SELECTOR, '#scatter circle.point.selected')
    background = browser.find_elements(By.CSS_SELECTOR, '#scatter circle.point.background')
    assert len(selected) == len(rows) and len(selected) + len(background) >= 20
    assert {c.get_attribute('data-uuid') for c in selected} == {r['uuid'] for r in rows}
    bars = browser.find_elements(By.CSS_SELECTOR, '#histogram rect.bar.selected')
    assert sum(int(b.get_attribute('data-count')) for b in bars) == len(rows)
    assert 'density' in browser.find_element(By.ID, 'histogram-caption').text
    _shot(browser, tmp_path, 'search-benzene-slice')

    # The download of the selection has the bytes of `polyinf export` with the same selection.
    href = browser.find_element(By.ID, 'download-csv').get_attribute('href')
    assert href.startswith(f'{site}{API}/dataset?') and 'smarts=c1ccccc1' in href
    with urllib.request.urlopen(href, timeout=WAIT) as response:
        downloaded = response.read()
    result = CliRunner().invoke(cmd_root, ['export', '--group', 'radonpy/slice', '--smarts', 'c1ccccc1',
                                           '--out', str(tmp_path / 'export')])
    assert result.exit_code == 0, result.output
    assert downloaded == (tmp_path / 'export' / 'dataset.csv').read_bytes()
    assert downloaded.count(b'\n') == len(rows) + 1

    # Polystyrene by its SMILES in another writing, over every polymer; then its bad twin gets a named error.
    assert _search(browser, group='', smarts='', q='c1ccccc1C(*)C*') is None
    assert [r['smiles'] for r in _rows(browser)] == ['*CC(*)c1ccccc1']
    _shot(browser, tmp_path, 'search-polystyrene')
    error = _search(browser, q='<img src=x onerror="window.hacked=1">')
    assert error and 'identifier' in error and '<img src=x' in error
    assert not browser.find_elements(By.CSS_SELECTOR, '#error img') and not browser.execute_script(
        'return window.hacked')

    # Markup in a source id stays text in the table.
    assert _search(browser, q='', group='test/markup') is None
    cells = browser.find_elements(By.CSS_SELECTOR, '#results-body td')
    assert any(c.text == 'test:<b>bold</b>' for c in cells) and not browser.find_elements(By.CSS_SELECTOR,
                                                                                          '#results-body b')
    _no_script_errors(browser)


def test_polymer_pages(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    # A PI1070 polymer of the slice with a density, reached from the search page.
    browser.get(f'{site}/?' + urllib.parse.urlencode({'group': 'radonpy/slice', 'range': 'density:1.0:'}))
    assert _ready(browser) is None
    first = _rows(browser)[0]
    first['image'].click()
    _wait(browser, lambda d: d.current_url == first['href'], 'the polymer page did not open')
    record = _get_json(f'{site}{API}/polymers/{first["uuid"]}')
    aggregate = next(v for v in record['value_table'] if v['source'] == 'PI1070' and v['link'] == 'aggregate')
    density = next(r for r in aggregate['values'] if r['name'] == 'density')
    assert density['std'] is not None and density['value'] >= 1.0
    section = browser.find_element(By.CSS_SELECTOR, 'section.source[data-label="PI1070 (external:radonpy)"]')
    assert section.find_element(By.CSS_SELECTOR, 'h3').text == 'PI1070 (external:radonpy)'
    row = section.find_element(By.CSS_SELECTOR, 'table[data-link="aggregate"] tr[data-name="density"]')
    assert float(row.find_element(By.CLASS_NAME, 'value').text) == pytest.approx(density['value'], rel=1e-5)
    assert float(row.find_element(By.CLASS_NAME, 'std').text) == pytest.approx(density['std'], rel=1e-5)
    assert row.find_element(By.CLASS_NAME, 'n').text == str(density['n'])
    assert row.find_element(By.CLASS_NAME, 'unit').text == 'g/cm^3'
    assert browser.find_element(By.ID, 'polymer-smiles').text == first['smiles']
    assert browser.execute_script('const i = document.getElementById("structure"); return i.complete && '
                                  'i.naturalWidth > 0')
    _shot(browser, tmp_path, 'polymer-pi1070')

    # PE of the computed group: its `fast` aggregate density over two trials, and the processes that made it.
    browser.get(f'{site}/polymer/{urllib.parse.quote("*CC*")}')
    computed = browser.find_element(By.CSS_SELECTOR, 'section.source[data-label="aiida-polyinf (fast)"]')
    row = computed.find_element(By.CSS_SELECTOR, 'table[data-link="aggregate"] tr[data-name="density"]')
    assert float(row.find_element(By.CLASS_NAME, 'value').text) == pytest.approx(0.905)
    assert row.find_element(By.CLASS_NAME, 'n').text == '2'
    trials = computed.find_elements(By.CSS_SELECTOR, 'table[data-link="properties"]')
    assert [t.get_attribute('data-trial') for t in trials] == ['0', '1']
    assert browser.find_elements(By.CSS_SELECTOR, 'section.source[data-label="PI1070 (external:radonpy)"]')
    record = _get_json(f'{site}{API}/polymers/{urllib.parse.quote("*CC*")}')
    maker = next(v for v in record['value_table'] if v['link'] == 'aggregate' and v['protocol'] == 'fast')['creator']
    caption = computed.find_element(By.CSS_SELECTOR, 'table[data-link="aggregate"] caption code.verdi')
    assert caption.text == f'verdi process show {maker["pk"]}'
    process = browser.find_element(By.ID, f'process-{maker["pk"]}')
    assert maker['uuid'] in process.text and f'verdi process show {maker["pk"]}' in process.text
    assert 'fake_aggregate' in process.text
    lines = [c.text for c in browser.find_elements(By.CSS_SELECTOR, '#provenance tbody code.verdi')]
    assert lines == [p['verdi'] for p in record['processes']]
    _shot(browser, tmp_path, 'polymer-pe-computed')

    _no_script_errors(browser)

    # Markup in a source id is text; an unknown polymer gets an error page; a bad SMILES gets no drawing.
    browser.get(f'{site}/polymer/{urllib.parse.quote("*CC(*)Br")}')
    assert browser.find_element(By.ID, 'polymer-source-ids').text == 'test:<b>bold</b>'
    assert not browser.find_elements(By.CSS_SELECTOR, '#identity b')
    browser.get(f'{site}/polymer/no-such-polymer')
    assert browser.find_element(By.ID, 'error-title').text.startswith('404')
    with urllib.request.urlopen(f'{site}{API}/depict.svg?smiles=' + urllib.parse.quote('*CC(*)Br'),
                                timeout=WAIT) as response:
        assert response.headers['content-type'].startswith('image/svg+xml')
        assert response.read().lstrip().startswith(b'<?xml')
    for smiles in ('C(((', 'C' * 501, 'CC\u00e9', '  '):
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f'{site}{API}/depict.svg?smiles=' + urllib.parse.quote(smiles), timeout=WAIT)
        assert raised.value.code == 422
        body = json.loads(raised.value.read())
        assert body['item'] == 'smiles' and body['error'], smiles
