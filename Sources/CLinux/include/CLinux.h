// The Linux calls that the toolchain's Glibc module does not expose to Swift: epoll, eventfd and
// the GNU accept4. Declared here so Swift calls them directly, as any C program would.
#ifndef CLINUX_H
#define CLINUX_H

#ifdef __linux__
// Neither _GNU_SOURCE nor <sys/socket.h> here: either makes Swift attribute glibc's socket types
// to this module instead of Glibc's, hiding them from files that import only Glibc. accept4 (glibc
// 2.10+) is declared by hand; socklen_t is an unsigned 32-bit integer on Linux.
#include <sys/epoll.h>
#include <sys/eventfd.h>

struct sockaddr;
extern int accept4(int fd, struct sockaddr *address, unsigned int *length, int flags);

static inline int clinux_epoll_create_cloexec(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int clinux_epoll_ctl(int epfd, int op, int fd, unsigned int events, unsigned long long data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

/// Waits and copies each ready event's mask and data into two plain arrays, so Swift never
/// depends on the (packed on x86_64) layout of struct epoll_event.
static inline int clinux_epoll_wait(int epfd, struct epoll_event *scratch, unsigned int *events,
                                    unsigned long long *data, int capacity, int timeout_ms) {
    int n = epoll_wait(epfd, scratch, capacity, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = scratch[i].events;
        data[i] = scratch[i].data.u64;
    }
    return n;
}

static inline int clinux_eventfd_nonblocking(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, whose values the caller passes from Glibc.
static inline int clinux_accept4(int fd, void *address, unsigned int *length, int flags) {
    return accept4(fd, (struct sockaddr *)address, length, flags);
}

static inline unsigned long clinux_epoll_event_size(void) { return sizeof(struct epoll_event); }
#endif

#endif
