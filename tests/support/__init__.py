"""Helpers shared by the test modules (not tests themselves): a test module imports from here,
never from another test module, so that each test file can be read, run and moved on its own."""
