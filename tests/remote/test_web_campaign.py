"""The web API on the test suite's shared `fast` campaign with the PI1070 import beside it (tests/remote/conftest.py):
polyethylene's page shows both sources, each labelled, with the campaign's provenance."""

import json
import sys

PROBE = '''
import json
import sys
from fastapi.testclient import TestClient
from aiida_polyinf.api.app import create_app
client = TestClient(create_app())
page = client.get('/api/v1/polymers/*CC*').json()
search = client.get('/api/v1/polymers', params={'q': 'C(C*)*'}).json()
html = client.get('/polymer/*CC*')
print(json.dumps({'page': page, 'total': search['total'], 'html': html.status_code,
                  'html_has_verdi': 'verdi process show' in html.text}))
'''


def test_polyethylene_page_on_the_shared_campaign(mdx_campaign):
    imported = mdx_campaign.polyinf('import-dataset', 'radonpy').stdout
    assert '1077 row(s) imported' in imported or 'already imported' in imported, imported
    script = mdx_campaign.base / 'web_probe.py'
    script.write_text(PROBE)
    out = mdx_campaign.run(sys.executable, str(script)).stdout
    result = json.loads(out.strip().splitlines()[-1])
    page = result['page']
    assert result['total'] == 1 and result['html'] == 200 and result['html_has_verdi']
    sources = {(v['source'], v['protocol']) for v in page['value_table']}
    assert {('aiida-polyinf', 'fast'), ('PI1070', 'external:radonpy')} <= sources, sources
    ours = next(v for v in page['value_table'] if v['link'] == 'aggregate' and v['protocol'] == 'fast')
    theirs = next(v for v in page['value_table'] if v['link'] == 'aggregate' and v['source'] == 'PI1070')
    for table in (ours, theirs):
        density = next(r for r in table['values'] if r['name'] == 'density')
        assert 0.5 < density['value'] < 1.2 and density['unit'] and density['n'] >= 1
    assert ours['creator']['label'] and ours['verdi'] == f"verdi process show {ours['creator']['pk']}"
    assert any(p['stage'] == 'md' and p['state'] == 'finished' for p in page['processes'])
