"""Reading a folder per the data contract: errors name file and column, bad rows are set aside."""

from pathlib import Path

import pandas as pd
import pytest

from features.errors import ContractError
from pipeline.data.contract import load_folder

CLIENTS = pd.DataFrame({
    "client_id": ["00123", "0003-MKNFE", "42"],
    "signup_date": ["2024-01-01", "2024-02-01", "2024-03-01"],
    "monthly_value": ["10.5", "20", ""],
    "plan": ["basic", "pro", "basic"],
})


def write(folder: Path, **tables: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def load(folder: Path, share: float = 1.0, require_churn: bool = False):
    return load_folder(folder, quarantine_dir=folder / "out" / "quarantine", max_rejected_share=share,
                       require_churn=require_churn)


def test_client_ids_stay_strings_as_written_in_csv(tmp_path):
    result = load(write(tmp_path, clients=CLIENTS))
    assert sorted(result.tables.clients["client_id"].astype(str)) == ["0003-MKNFE", "00123", "42"]


def test_client_ids_stay_strings_in_parquet_even_when_stored_as_numbers(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    frame = pd.DataFrame({"client_id": [7, 8], "signup_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    frame.to_parquet(tmp_path / "clients.parquet")
    pd.DataFrame({"client_id": ["7"], "timestamp": ["2024-02-01T00:00:00Z"], "event_type": ["login"]}).to_csv(
        tmp_path / "events.csv", index=False)
    result = load(tmp_path)
    assert list(result.tables.clients["client_id"].astype(str)) == ["7", "8"]
    assert result.reports["events"].rows_used == 1  # "7" in events matches 7 in clients


def test_missing_clients_table_names_the_file(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    with pytest.raises(ContractError, match=r"clients.*required.*clients\.csv or clients\.parquet"):
        load(tmp_path)


def test_missing_churn_table_is_required_only_to_train(tmp_path):
    folder = write(tmp_path, clients=CLIENTS)
    assert load(folder).tables.churn is None
    with pytest.raises(ContractError, match=r"churn.*required to train"):
        load(folder, require_churn=True)


def test_missing_required_column_names_file_and_column(tmp_path):
    folder = write(tmp_path, clients=CLIENTS.drop(columns=["signup_date"]))
    with pytest.raises(ContractError, match=r"clients\.csv, column 'signup_date': required column is missing"):
        load(folder)


def test_missing_required_column_of_an_optional_table(tmp_path):
    events = pd.DataFrame({"client_id": ["42"], "timestamp": ["2024-03-05"]})
    with pytest.raises(ContractError, match=r"events\.csv, column 'event_type'"):
        load(write(tmp_path, clients=CLIENTS, events=events))


def test_column_names_are_matched_case_insensitively(tmp_path):
    folder = write(tmp_path, clients=CLIENTS.rename(columns={"client_id": "Client_ID", "signup_date": "SIGNUP_DATE"}))
    assert len(load(folder).tables.clients) == 3


@pytest.mark.parametrize("table, frame, reason", [
    ("events", pd.DataFrame({"client_id": ["42", "nobody"], "timestamp": ["2024-03-05", "2024-03-05"],
                             "event_type": ["login", "login"]}), "unknown client_id"),
    ("events", pd.DataFrame({"client_id": ["42", "42"], "timestamp": ["2024-03-05", "yesterday"],
                             "event_type": ["login", "login"]}), "timestamp is not a date/time"),
    ("events", pd.DataFrame({"client_id": ["42", "42"], "timestamp": ["2024-03-05", "9999-12-31T00:00:00"],
                             "event_type": ["login", "login"]}), "timestamp is out of range"),
    ("events", pd.DataFrame({"client_id": ["42", "42"], "timestamp": ["2024-03-05", "2024-03-06"],
                             "event_type": ["login", "login"], "value": ["1", "1e300"]}), "value is not a usable"),
    ("surveys", pd.DataFrame({"client_id": ["42", "42", "42"], "answered_at": ["2024-03-05"] * 3,
                              "score": ["7", "11", "-1"]}), "score is not an integer from 0 to 10"),
    ("tickets", pd.DataFrame({"ticket_id": ["t1", "t1"], "client_id": ["42", "42"],
                              "opened_at": ["2024-03-05", "2024-03-06"]}), "duplicate ticket_id"),
    ("tickets", pd.DataFrame({"ticket_id": ["t1", "t2"], "client_id": ["42", "42"],
                              "opened_at": ["2024-03-05", "2024-03-06"],
                              "resolved_at": ["2024-03-06", "2024-03-01"]}), "resolved before it was opened"),
    ("tickets", pd.DataFrame({"ticket_id": ["t1", "t2"], "client_id": ["42", "42"],
                              "opened_at": ["2024-03-05", "2024-03-06"], "satisfaction": ["5", "9"]}),
     "satisfaction is not an integer from 1 to 5"),
    ("churn", pd.DataFrame({"client_id": ["42", "42"], "churned_at": ["2024-04-01", "2024-05-01"]}),
     "duplicate client_id"),
])
def test_bad_rows_go_to_quarantine_with_their_reason(tmp_path, table, frame, reason):
    folder = write(tmp_path, clients=CLIENTS, **{table: frame})
    result = load(folder)
    report = result.reports[table]
    assert report.rows_in == report.rows_used + report.rows_quarantined
    quarantined = pd.read_csv(folder / "out" / "quarantine" / f"{table}.csv", dtype=str)
    assert len(quarantined) == report.rows_quarantined >= 1
    assert quarantined["reason"].str.contains(reason).all()
    assert len(getattr(result.tables, table)) == report.rows_used


def test_negative_monthly_value_and_duplicate_client_are_set_aside(tmp_path):
    clients = pd.concat([CLIENTS, pd.DataFrame({"client_id": ["00123", "9"], "signup_date": ["2024-01-01"] * 2,
                                                "monthly_value": ["5", "-3"], "plan": ["x", "y"]})])
    result = load(write(tmp_path, clients=clients))
    assert result.reports["clients"].reasons == {"duplicate client_id (first row kept)": 1,
                                                 "monthly_value is negative": 1}
    assert len(result.tables.clients) == 3


def test_run_fails_when_rejected_share_passes_the_limit(tmp_path):
    events = pd.DataFrame({"client_id": ["42"] * 9 + ["ghost"], "timestamp": ["2024-03-05"] * 10,
                           "event_type": ["login"] * 10})
    folder = write(tmp_path, clients=CLIENTS, events=events)
    assert load(folder, share=0.1).reports["events"].rows_quarantined == 1  # 10% is not above 10%
    with pytest.raises(ContractError, match=r"events\.csv: 1 of 10 rows \(10\.0%\).*above max_rejected_share 5\.0%"):
        load(folder, share=0.05)
    assert (folder / "out" / "quarantine" / "events.csv").exists()  # the evidence stays for the user


def test_mixed_time_zones_are_converted_to_utc(tmp_path):
    events = pd.DataFrame({"client_id": ["42", "42", "42"],
                           "timestamp": ["2024-03-05T23:30:00-02:00", "2024-03-06T00:30:00+01:00", "2024-03-05"],
                           "event_type": ["a", "b", "c"]})
    result = load(write(tmp_path, clients=CLIENTS, events=events))
    stamps = result.tables.events.sort_values("event_type")["timestamp"].astype(str).tolist()
    assert stamps == ["2024-03-06 01:30:00", "2024-03-05 23:30:00", "2024-03-05 00:00:00"]


def test_a_csv_that_is_not_utf8_gets_a_clear_message(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "clients.csv").write_bytes("client_id,signup_date,plan\n1,2024-01-01,Peque\xf1o\n".encode("latin-1"))
    with pytest.raises(ContractError, match=r"clients\.csv.*not UTF-8"):
        load(tmp_path)


def test_a_truncated_parquet_file_gets_a_clear_message(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    data = (tmp_path / "clients.parquet").read_bytes()
    (tmp_path / "clients.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(ContractError, match=r"clients\.parquet.*cannot be read as Parquet"):
        load(tmp_path)


def test_an_empty_optional_table_is_accepted(tmp_path):
    events = pd.DataFrame({"client_id": [], "timestamp": [], "event_type": []})
    result = load(write(tmp_path, clients=CLIENTS, events=events))
    assert result.reports["events"].rows_in == 0 and len(result.tables.events) == 0


def test_an_empty_clients_table_is_an_error(tmp_path):
    with pytest.raises(ContractError, match=r"clients\.csv.*no rows"):
        load(write(tmp_path, clients=CLIENTS.iloc[:0]))


def test_stale_quarantine_file_is_removed_when_a_rerun_is_clean(tmp_path):
    bad = pd.DataFrame({"client_id": ["ghost"], "churned_at": ["2024-04-01"]})
    folder = write(tmp_path, clients=CLIENTS, churn=bad)
    load(folder)
    assert (folder / "out" / "quarantine" / "churn.csv").exists()
    write(folder, churn=bad.assign(client_id="42"))
    load(folder)
    assert not (folder / "out" / "quarantine" / "churn.csv").exists()


def test_a_spreadsheet_csv_with_semicolons_and_decimal_commas_is_read(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "clients.csv").write_bytes(
        "\ufeffclient_id;signup_date;monthly_value;Tarifa\r\n00123;2024-01-01;10,5;Básica\r\n7;2024-02-01;20;Pro\r\n"
        .encode("utf-8"))
    clients = load(tmp_path).tables.clients.set_index("client_id")
    assert clients.loc["00123", "monthly_value"] == 10.5 and clients.loc["7", "monthly_value"] == 20
    assert clients.loc["00123", "tarifa"] == "Básica"


def test_a_number_that_is_not_one_is_still_set_aside(tmp_path):
    clients = CLIENTS.assign(monthly_value=["10,5,3", "20", "x"])
    result = load(write(tmp_path, clients=clients))
    assert result.reports["clients"].reasons == {"monthly_value is not a number": 2}
