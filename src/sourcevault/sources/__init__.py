"""Sources: a link, a note on it, tags."""

from sourcevault.search.index import install as _install_search_index
from sourcevault.sources.models import Source as _Source

# Every source the ORM writes writes its search index row in the same flush (search/index.py).
_install_search_index(_Source)
