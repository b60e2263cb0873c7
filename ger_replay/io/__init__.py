"""Released predictions import, bundles, verification and export."""
