/* irpeer: a tiny AF_IRDA peer for the lab (Linux kernel IrDA stack, cschramm/irda modules).
 *
 *   irpeer list                         discovery: IRLMP_ENUMDEVICES, a few tries, print the log
 *   irpeer serve CLASS HOST:PORT        phone role: advertise PDA|Telephony|OBEX hints, bind a
 *                                       SOCK_STREAM socket to CLASS (IAS class CLASS with
 *                                       IrDA:TinyTP:LsapSel), accept one connection and relay it
 *                                       to TCP HOST:PORT (e.g. `handsync emulate --listen-obex-tcp`)
 *   irpeer connect CLASS HOST:PORT [ADDR]
 *                                       PC role: discover, connect to CLASS on ADDR (hex) or the
 *                                       first device found, and relay it to TCP HOST:PORT
 *   HOST:PORT may be listen:HOST:PORT: wait for one TCP connection instead of dialing
 *
 * The kernel does the IAS lookup of CLASS itself on connect (sir_name), and TinyTP gives a
 * reliable byte stream. tests/lab/kernel-irda builds it: gcc -O2 -Wall -static.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_IRDA
#define AF_IRDA 23
#endif
#define SOL_IRLMP 266
#define IRLMP_ENUMDEVICES 1
#define IRLMP_HINTS_SET 4
#define LSAP_ANY 0xff

struct sockaddr_irda {
    unsigned short sir_family;
    uint8_t sir_lsap_sel;
    uint32_t sir_addr;
    char sir_name[25];
};
struct irda_device_info {
    uint32_t saddr, daddr;
    char info[22];
    uint8_t charset;
    uint8_t hints[2];
};
struct irda_device_list {
    uint32_t len;
    struct irda_device_info dev[16];
};

static void die(const char *what) { perror(what); exit(1); }

/* HOST:PORT dials; listen:HOST:PORT waits for one TCP connection (an emulator that dials). */
static int tcp_connect(const char *hostport) {
    int listening = !strncmp(hostport, "listen:", 7);
    if (listening) hostport += 7;
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon - hostport >= (long)sizeof host) { fprintf(stderr, "bad HOST:PORT\n"); exit(2); }
    memcpy(host, hostport, colon - hostport); host[colon - hostport] = 0;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)) };
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); exit(2); }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) die("socket");
    if (!listening) {
        if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) die("tcp connect");
        return fd;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 1) < 0) die("tcp listen");
    fprintf(stderr, "irpeer: waiting on tcp %s\n", hostport);
    int c = accept(fd, NULL, NULL);
    if (c < 0) die("tcp accept");
    close(fd);
    return c;
}

/* Copies both ways until either side closes. TinyTP SAR is off by default, so IrDA writes
 * are kept at most 2048 bytes (the usual max SDU a peer grants). */
static void relay(int a, int b) {
    char buf[2048];
    struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
    for (;;) {
        if (poll(p, 2, -1) < 0) die("poll");
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) { fprintf(stderr, "irpeer: %s side closed\n", i ? "tcp" : "irda"); return; }
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(p[1 - i].fd, buf + off, n - off);
                if (w < 0) die("write");
                off += w;
            }
        }
    }
}

static int discover(int fd, struct irda_device_list *list) {
    for (int tries = 0; tries < 10; tries++) {
        socklen_t len = sizeof *list;
        /* The first call with an empty log starts a discovery and says EAGAIN. */
        if (getsockopt(fd, SOL_IRLMP, IRLMP_ENUMDEVICES, list, &len) == 0 && list->len > 0)
            return list->len;
        if (errno != EAGAIN && errno != 0) die("IRLMP_ENUMDEVICES");
        sleep(1);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: irpeer list | serve CLASS HOST:PORT | connect CLASS HOST:PORT [ADDR]\n"); return 2; }
    int fd = socket(AF_IRDA, SOCK_STREAM, 0);
    if (fd < 0) die("socket(AF_IRDA) (is irda.ko loaded?)");
    if (!strcmp(argv[1], "list")) {
        struct irda_device_list list;
        int n = discover(fd, &list);
        for (int i = 0; i < n && i < 16; i++)
            printf("%08x %-22.22s hints %02x%02x\n", list.dev[i].daddr, list.dev[i].info,
                   list.dev[i].hints[0], list.dev[i].hints[1]);
        return n ? 0 : 1;
    }
    if (argc < 4) return 2;
    struct sockaddr_irda sa = { .sir_family = AF_IRDA, .sir_lsap_sel = LSAP_ANY };
    snprintf(sa.sir_name, sizeof sa.sir_name, "%s", argv[2]);
    if (!strcmp(argv[1], "serve")) {
        int hints = 0x82 | (0x21 << 8); /* PDA|Extension, Telephony|OBEX */
        if (setsockopt(fd, SOL_IRLMP, IRLMP_HINTS_SET, &hints, sizeof hints) < 0) die("IRLMP_HINTS_SET");
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
        if (listen(fd, 1) < 0) die("listen");
        fprintf(stderr, "irpeer: serving %s\n", sa.sir_name);
        struct sockaddr_irda peer; socklen_t plen = sizeof peer;
        int c = accept(fd, (struct sockaddr *)&peer, &plen);
        if (c < 0) die("accept");
        fprintf(stderr, "irpeer: accepted %08x\n", peer.sir_addr);
        relay(c, tcp_connect(argv[3]));
        return 0;
    }
    if (!strcmp(argv[1], "connect")) {
        if (argc > 4) sa.sir_addr = strtoul(argv[4], NULL, 16);
        else {
            struct irda_device_list list;
            if (!discover(fd, &list)) { fprintf(stderr, "irpeer: nobody in range\n"); return 1; }
            sa.sir_addr = list.dev[0].daddr;
        }
        int t = tcp_connect(argv[3]); /* first: a listening relay waits for its emulator */
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
        fprintf(stderr, "irpeer: connected to %s on %08x\n", sa.sir_name, sa.sir_addr);
        relay(fd, t);
        return 0;
    }
    return 2;
}
