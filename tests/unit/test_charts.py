from api.charts import BAR, chart

OVERLAP = {
    "channels": ["app", "mp", "crm"],
    "persons": 10,
    "per_channel": {"app": 8, "mp": 3, "crm": 0},
    "combinations": [
        {"channels": ["app", "mp", "crm"], "persons": 0},
        {"channels": ["app", "mp"], "persons": 2},
        {"channels": ["app", "crm"], "persons": 0},
        {"channels": ["mp", "crm"], "persons": 0},
        {"channels": ["app"], "persons": 6},
        {"channels": ["mp"], "persons": 1},
        {"channels": ["crm"], "persons": 1},
    ],
}


def test_empty_combinations_get_no_bar_and_the_largest_comes_first():
    rows = chart(OVERLAP)["rows"]
    assert [r["label"] for r in rows] == ["app", "app + mp", "mp", "crm"]
    assert rows[0]["width"] == BAR
    assert rows[1]["width"] == BAR // 3


def test_dots_mark_the_channels_of_each_combination():
    both = chart(OVERLAP)["rows"][1]
    assert [d["on"] for d in both["dots"]] == [True, True, False]
    assert both["share"] == 0.2


def test_a_workspace_without_persons_draws_without_dividing_by_zero():
    empty = {**OVERLAP, "persons": 0, "per_channel": {"app": 0, "mp": 0, "crm": 0},
             "combinations": [{**c, "persons": 0} for c in OVERLAP["combinations"]]}  # fmt: skip
    drawn = chart(empty)
    assert drawn["rows"] == []
    assert [t["width"] for t in drawn["totals"]] == [0, 0, 0]
