"""Uploads small on the wire and huge in memory are refused from their shape, quickly,
with what they are and the limit, and nothing stored: workbooks that unpack to
gigabytes or declare a whole sheet, huge shared strings, very wide or very long
tables, a MultiPoint posing as one station. Each shape in several sizes."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.api.conftest import AUTH, make_client

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="r1"/></sheets>'
        '</workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>'),
}
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _xlsx(sheet: str | bytes, *, shared: str | bytes | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
    return buf.getvalue()


def _sheet(body: str, dimension: str = "A1:D2") -> str:
    return (f'<?xml version="1.0"?><worksheet {_NS}><dimension ref="{dimension}"/>'
            f"<sheetData>{body}</sheetData></worksheet>")


def _import(client, name: str, data: bytes, ctype: str):
    return client.post("/stations/import", files={"file": (name, data, ctype)},
                       headers=AUTH)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client(area, tmp_path):
    # a generous wire limit: these files are small there, and must be refused anyway
    with make_client(area, tmp_path, None, max_upload_bytes=8_000_000) as c:
        yield c


def _refused(client, r, *words: str) -> None:
    assert r.status_code in (413, 422), r.text[:300]
    detail = r.json()["detail"]
    assert all(w in detail for w in words), detail[:300]
    assert len(r.content) < 100_000  # the answer is small too
    assert client.get("/stations").json()["features"].__len__() == 6  # nothing stored


@pytest.mark.parametrize("megabytes", [80, 300])
def test_a_sheet_that_unpacks_to_whitespace_is_refused_unread(client, megabytes):
    padding = b" " * (megabytes * 1024 * 1024)
    sheet = _sheet("").encode().replace(b"<sheetData>", b"<sheetData>" + padding)
    data = _xlsx(sheet)
    assert len(data) < 2_000_000
    _refused(client, _import(client, "bomb.xlsx", data, XLSX), "bytes", "more than the")


@pytest.mark.parametrize("dimension", ["A1:XFD1048576", "A1:Z900000", "A1:ZZ10"])
def test_a_declared_sheet_larger_than_allowed_is_refused(client, dimension):
    data = _xlsx(_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>',
                        dimension))
    assert len(data) < 3_000
    _refused(client, _import(client, "declared.xlsx", data, XLSX), "more than the")


def test_a_huge_shared_string_is_refused(client):
    shared = (f'<?xml version="1.0"?><sst {_NS} count="1" uniqueCount="1"><si><t>'
              + "x" * (70 * 1024 * 1024) + "</t></si></sst>")
    data = _xlsx(_sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', "A1"), shared=shared)
    _refused(client, _import(client, "shared.xlsx", data, XLSX), "bytes", "more than the")


@pytest.mark.parametrize("columns", [200, 16_384])
def test_a_wide_sheet_is_refused_from_its_cells(client, columns):
    def col(i: int) -> str:
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s

    cells = "".join(f'<c r="{col(i)}1"><v>1</v></c>' for i in range(columns))
    data = _xlsx(_sheet(f'<row r="1">{cells}</row>', "A1"))  # the declared size lies
    _refused(client, _import(client, "wide.xlsx", data, XLSX), "columns")


@pytest.mark.parametrize(("columns", "sep"), [(100, ","), (1_000_000, ","), (300_000, ";")])
def test_a_very_wide_csv_header_is_refused_in_one_pass(client, columns, sep):
    header = sep.join(f"c{i % 10}" for i in range(columns))
    r = _import(client, "wide.csv", (header + "\n" + "1" + sep * (columns - 1) + "\n").encode(),
                "text/csv")
    _refused(client, r, "columns" if columns < 100_000 else "header line is longer")


@pytest.mark.parametrize("rows", [5_000, 1_200_000])
def test_a_long_table_of_empty_rows_is_refused_with_a_short_answer(client, rows):
    data = b"id,name,lon,lat\n" + b",,,\n" * rows
    _refused(client, _import(client, "empty.csv", data, "text/csv"), "rows")


def test_a_multipoint_is_not_one_station(client):
    coords = [[114.2 + i * 1e-6, 22.69] for i in range(30_000)]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "MP1", "name": "many"},
         "geometry": {"type": "MultiPoint", "coordinates": coords}}]}
    r = _import(client, "many.geojson", json.dumps(fc).encode(), "application/geo+json")
    _refused(client, r)
    assert "MultiPoint of 30,000 points" in r.text


def test_many_bad_rows_are_counted_not_all_listed(client):
    rows = "\n".join(f"B{i},bad,x,y" for i in range(1_500))
    r = _import(client, "bad.csv", ("id,name,lon,lat\n" + rows + "\n").encode(), "text/csv")
    assert r.status_code == 422
    body = r.json()
    assert len(body["problems"]) == 100 and body["more_problems"] == 2 * 1_500 - 100
    assert "3,000 problems" in body["detail"]
