#!lua name=microwish
