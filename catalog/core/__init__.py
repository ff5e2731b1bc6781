"""The pure core of Cadence: period and money arithmetic, with no Django import.

Everything that decides a date or an amount lives here and is tested on its own
(tests/catalog/core). Models and services translate rows into these values and back.
"""
