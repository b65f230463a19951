"""xctest.sip"""
