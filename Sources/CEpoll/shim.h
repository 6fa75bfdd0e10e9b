#ifndef LIAISON_CEPOLL_SHIM_H
#define LIAISON_CEPOLL_SHIM_H

// Linux's epoll, which the Glibc module does not include.
#include <sys/epoll.h>

#endif
