"""The invoice tables' columns that hold taxpayer ids and names, masked wherever keys are shown.

Defined here, below the sandbox, because the quality results mask sample keys with them and the
sandbox's tables (which name the same columns) sit in the layer above.
"""

from __future__ import annotations

TAXPAYER_ID_COLUMNS = frozenset({"xsfnsrsbh", "gmfnsrsbh", "nsrsbh"})
TAXPAYER_NAME_COLUMNS = frozenset({"xsfmc", "gmfmc", "nsrmc"})
