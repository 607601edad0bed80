//! Memory figures for `/stats.json` (being written).
