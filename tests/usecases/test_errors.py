"""Core errors name the field; each front end words it for its users, with the same
message otherwise: the command line as its flag, the service as its parameter or
setting, with the HTTP status chosen by the error's class in api/."""

from __future__ import annotations

import pytest

from circle15.api.errors import message_of, status_of
from circle15.cli import flag, main
from circle15.geo.errors import (
    Circle15Error,
    DuplicateIdError,
    InputError,
    NotFoundError,
    SettingsError,
    StorageError,
)
from circle15.geo.modes import TravelMode
from circle15.usecases.questions import CoverageQuestion


def test_a_settings_error_is_worded_for_each_front_end():
    with pytest.raises(SettingsError) as caught:
        TravelMode.of("ebike", 99)
    exc = caught.value
    assert str(exc).startswith("speed_kmh: the ebike speed must be between")
    assert exc.worded(flag).startswith("--speed-kmh: the ebike speed")
    assert message_of(exc) == str(exc).replace("speed_kmh", "CIRCLE15_SPEED_KMH", 1)
    # a request parameter keeps its own name
    with pytest.raises(SettingsError) as caught:
        CoverageQuestion(demand="couriers")
    assert message_of(caught.value).startswith("demand must be one of residents, workers")
    assert caught.value.worded(flag).startswith("--demand must be one of")
    assert "{field:" not in message_of(caught.value)


def test_the_core_carries_no_http_status_and_the_service_maps_every_class():
    assert not any(hasattr(cls, "http_status") for cls in
                   (Circle15Error, InputError, SettingsError, NotFoundError))
    assert status_of(InputError("x", "bad")) == 422
    assert status_of(NotFoundError("none")) == 404
    assert status_of(DuplicateIdError(["A1"])) == 409
    assert status_of(StorageError("disk full")) == 503
    assert status_of(RuntimeError("boom")) == 500
    assert str(DuplicateIdError(["A1", "B2"])) == "station ids already exist: A1, B2"


def test_the_command_line_prints_its_own_flag(capsys, tmp_path):
    stations = tmp_path / "s.csv"
    stations.write_text("id,name,lon,lat\nA,a,24.94,60.17\n", encoding="utf-8")
    code = main(["coverage", "--network", "x.osm", "--stations", str(stations),
                 "--population", "p.csv", "--speed-kmh", "99", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--speed-kmh: the walk speed must be between 0.5 and 30 km/h" in err
    assert "{field:" not in err and "speed_kmh" not in err
