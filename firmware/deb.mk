# firmware/deb.mk: included by the Makefile.
