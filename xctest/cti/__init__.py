"""xctest.cti"""
