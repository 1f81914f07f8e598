"""media.service's read helpers other domains call."""

from media import service
from tests import media_kinds


def test_photo_counts_per_owner(app, world):
    photo_a, photo_b = world.photo_a, world.photo_b
    counts = service.photo_counts(media_kinds.KIND, [photo_a.owner_id, photo_b.owner_id, 987654])
    assert counts == {photo_a.owner_id: 1, photo_b.owner_id: 1}
    assert service.photo_counts(media_kinds.KIND, []) == {}
