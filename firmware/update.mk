# firmware/update.mk: included by the Makefile.
