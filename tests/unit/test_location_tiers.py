"""Which sites an inquiry may be booked at, tier by tier: the chosen site, then nearby ones, then any."""

from __future__ import annotations

import pytest

from routing.domain.locations import Basis, Coordinates, Site, Tier, Wish, normalise_postal_code, tiers

# Springfield (MA) and around: downtown and the north side are 4 km apart, Holyoke 12 km, Worcester 75 km.
DOWNTOWN = Site(
    "downtown", "Downtown", frozenset({"consult", "imaging", "injection"}), coordinates=Coordinates(42.1015, -72.5898)
)
NORTH = Site("north", "North side", frozenset({"consult"}), coordinates=Coordinates(42.1288, -72.5775))
HOLYOKE = Site("holyoke", "Holyoke", frozenset({"consult", "injection"}), coordinates=Coordinates(42.2043, -72.6162))
WORCESTER = Site(
    "worcester", "Worcester", frozenset({"consult", "imaging"}), coordinates=Coordinates(42.2626, -71.8023)
)
NOWHERE = Site("phone", "Telephone clinic", frozenset({"consult"}))  # no coordinates: never "nearby"
SITES = (DOWNTOWN, NORTH, HOLYOKE, WORCESTER, NOWHERE)
POSTAL = {"01104": Coordinates(42.1288, -72.5775), "01601": Coordinates(42.2626, -71.8023)}


def test_without_a_wish_every_site_offering_the_appointment_is_one_tier():
    assert tiers(SITES, "imaging", Wish(), POSTAL) == (Tier(Basis.ANY, ("downtown", "worcester")),)


def test_the_chosen_site_comes_first_then_sites_near_it_nearest_first_then_the_rest():
    assert tiers(SITES, "consult", Wish(preferred="north"), POSTAL, radius_km=20) == (
        Tier(Basis.PREFERRED, ("north",)),
        Tier(Basis.NEARBY, ("downtown", "holyoke")),
        Tier(Basis.ANY, ("phone", "worcester")),
    )


def test_a_postal_code_places_the_patient_when_no_site_is_chosen():
    assert tiers(SITES, "consult", Wish(postal_code="01601"), POSTAL, radius_km=20) == (
        Tier(Basis.NEARBY, ("worcester",)),
        Tier(Basis.ANY, ("downtown", "holyoke", "north", "phone")),
    )


def test_the_postal_code_not_the_chosen_site_is_the_centre_of_the_radius():
    # Chose downtown but lives in Worcester: Worcester is the nearby site, not the north side.
    assert tiers(SITES, "consult", Wish(preferred="downtown", postal_code="01601"), POSTAL, radius_km=20) == (
        Tier(Basis.PREFERRED, ("downtown",)),
        Tier(Basis.NEARBY, ("worcester",)),
        Tier(Basis.ANY, ("holyoke", "north", "phone")),
    )


def test_a_chosen_site_that_does_not_offer_the_appointment_is_passed_over_for_sites_near_it():
    assert tiers(SITES, "imaging", Wish(preferred="north"), POSTAL, radius_km=20) == (
        Tier(Basis.NEARBY, ("downtown",)),
        Tier(Basis.ANY, ("worcester",)),
    )


def test_an_unknown_postal_code_or_site_places_nothing():
    assert tiers(SITES, "imaging", Wish(preferred="mars", postal_code="99999"), POSTAL) == (
        Tier(Basis.ANY, ("downtown", "worcester")),
    )


def test_no_site_offering_the_appointment_gives_no_tier():
    assert tiers((NORTH,), "imaging", Wish(preferred="north"), POSTAL) == ()


@pytest.mark.parametrize(
    ("written", "key"),
    [("01104", "01104"), (" 01104-2201 ", "01104"), ("sw1a 1aa", "SW1A1AA"), ("K1A 0B1", "K1A0B1")],
)
def test_postal_codes_are_compared_without_spaces_case_or_zip_plus_four(written, key):
    assert normalise_postal_code(written) == key


def test_distances_are_great_circle_kilometres():
    assert round(DOWNTOWN.coordinates.km_to(WORCESTER.coordinates)) == 67
