# firmware/cross.mk: included by the Makefile.
