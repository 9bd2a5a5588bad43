"""The pure graph functions of the operator's kit, against small hand-made graphs."""

import itertools
from datetime import UTC, datetime

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.graph import (
    LinkEvidence,
    broken_limits,
    build_graph,
    explain_path,
    fragile_identifiers,
    links_across,
    strongest_nodes,
)
from identity.identifiers import Identifier
from identity.policy import default_policy

AT = datetime(2026, 1, 1, tzinfo=UTC)


def node(value: str) -> Identifier:
    return Identifier("anonymous_id", "", value)


def evidence(link_id: int) -> LinkEvidence:
    return LinkEvidence(link_id, AT, AT, 1, ("app",), f"m{link_id}")


def chain(*values: str) -> nx.Graph:
    nodes = [node(v) for v in values]
    links = [(a, b, evidence(n)) for n, (a, b) in enumerate(itertools.pairwise(nodes), start=1)]
    return build_graph(nodes, links)


def test_links_to_identifiers_outside_the_person_are_left_out():
    a, b, stranger = node("a"), node("b"), node("z")
    G = build_graph([a, b], [(a, b, evidence(1)), (b, stranger, evidence(2))])
    assert set(G.nodes) == {a, b}
    assert G.number_of_edges() == 1


def test_explain_follows_the_shortest_chain_with_each_links_evidence():
    G = chain("a", "b", "c", "d")
    G.add_edge(node("a"), node("c"), evidence=evidence(9))
    path = explain_path(G, node("a"), node("d"))
    assert [(str(x), str(y), e.link_id) for x, y, e in path] == [
        ("anonymous_id:a", "anonymous_id:c", 9),
        ("anonymous_id:c", "anonymous_id:d", 3),
    ]


def test_explain_of_an_identifier_with_itself_is_an_empty_chain():
    assert explain_path(chain("a", "b"), node("a"), node("a")) == []


def test_explain_without_a_chain_answers_none():
    G = build_graph([node("a"), node("b")], [])
    assert explain_path(G, node("a"), node("b")) is None


def test_explain_refuses_identifiers_outside_the_graph():
    with pytest.raises(ValueError):
        explain_path(chain("a", "b"), node("a"), node("z"))


def test_a_split_cuts_exactly_the_links_between_the_sides():
    G = chain("a", "b", "c", "d")
    assert [e.link_id for e in links_across(G, {node("c"), node("d")})] == [2]
    assert [e.link_id for e in links_across(G, {node("b")})] == [1, 2]


def test_the_middle_of_a_chain_is_fragile_and_a_cycle_is_not():
    assert fragile_identifiers(chain("a", "b", "c"), min_side=1) == [node("b")]
    G = chain("a", "b", "c")
    G.add_edge(node("a"), node("c"), evidence=evidence(7))
    assert fragile_identifiers(G, min_side=1) == []


def test_a_star_of_one_observation_is_not_fragile_but_two_clusters_on_a_device_are():
    hub, *leaves = (node(v) for v in "habc")
    assert (
        fragile_identifiers(build_graph([hub, *leaves], [(hub, x, evidence(1)) for x in leaves]))
        == []
    )
    assert fragile_identifiers(chain("a", "b", "device", "c", "d")) == [node("device")]


def test_display_keeps_the_strongest_first_and_says_when_it_truncates():
    G = chain("c", "b", "a")
    kept, truncated = strongest_nodes(G, 3, key=lambda i: i.value)
    assert kept[0] == node("a") and not truncated
    kept, truncated = strongest_nodes(G, 2, key=lambda i: i.value)
    assert kept == [node("a"), node("b")] and truncated


def test_display_of_a_graph_walks_to_connected_neighbours_first():
    G = chain("a", "z", "y")
    G.add_node(node("b"))
    kept, _ = strongest_nodes(G, 2, key=lambda i: i.value)
    assert kept == [node("a"), node("z")]


def test_broken_limits_names_each_group_over_its_limit():
    members = {
        "p1": [Identifier("login_id", "app", "A"), Identifier("idfa", "", "X")],
        "p2": [Identifier("login_id", "app", "B"), Identifier("login_id", "web", "C")],
    }
    assert broken_limits(members, default_policy()) == {"login_id@app": "2 values, the limit is 1"}


def test_shared_identifiers_do_not_count_twice_against_a_limit():
    shared = [Identifier("member_id", "", "1")]
    assert broken_limits({"p1": shared, "p2": shared}, default_policy()) == {}


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30))
def test_explain_agrees_with_networkx_on_whether_two_nodes_are_connected(pairs):
    nodes = [node(str(n)) for n in range(10)]
    G = build_graph(nodes, [(nodes[a], nodes[b], evidence(n)) for n, (a, b) in enumerate(pairs)])
    path = explain_path(G, nodes[0], nodes[9])
    assert (path is not None) == nx.has_path(G, nodes[0], nodes[9])
    if path:
        assert path[0][0] == nodes[0] and path[-1][1] == nodes[9]
        assert all(x[1] == y[0] for x, y in itertools.pairwise(path))
