// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd's sockets. Per configured interface a UDP socket on 0.0.0.0:67 bound to the device
 * (SO_BINDTODEVICE), which sees the broadcasts of clients without an address and unicast from
 * relays and renewing clients; per `listen` address a UDP socket for relayed and test traffic.
 * Replies to clients that have no address yet cannot go through UDP (the kernel would ARP for
 * an address nobody owns yet), so they leave through one AF_PACKET socket (SOCK_DGRAM: the
 * kernel writes the Ethernet header) with IPv4 and UDP headers built here: unicast to chaddr
 * with yiaddr as destination, or broadcast (RFC 2131 §4.1). The packet socket is opened with
 * protocol 0, so it never receives anything. Datagrams read here are untrusted; they go to
 * dhcpd_handle() unchanged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nap/log.h"
#include "napdhcpd.h"

#define DHCPD_RX_VEC  32
#define DHCPD_RX_SIZE (NAP_DHCP_MAX_LEN + 1) /* one more: a longer datagram shows as truncated */
#define DHCPD_RCVBUF  (4 << 20)

static int
dhcpd_udp_socket(const struct sockaddr_in *sa, const char *ifname, char *err, size_t len)
{
	int fd, one = 1, rcv = DHCPD_RCVBUF;
	char a[16];

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, len, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (ifname != NULL &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) {
		snprintf(err, len, "interface %s: SO_BINDTODEVICE: %s", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		dhcpd_ip_format(ntohl(sa->sin_addr.s_addr), a, sizeof(a));
		snprintf(err, len, "%s%s%s:%u: bind: %s", ifname != NULL ? ifname : "",
			 ifname != NULL ? " " : "", a, ntohs(sa->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
dhcpd_net_open(struct dhcpd_net *n, const struct dhcpd_config *c, char *err, size_t len)
{
	memset(n, 0, sizeof(*n));
	n->packet_fd = -1;
	if (c->n_ifaces > 0) {
		n->packet_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (n->packet_fd < 0) {
			snprintf(err, len, "packet socket: %s (needs CAP_NET_RAW)", strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < c->n_ifaces; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(DHCPD_SERVER_PORT)};
		struct dhcpd_sock *s = &n->socks[n->n_socks];
		unsigned idx = if_nametoindex(c->ifaces[i]);

		if (idx == 0) {
			snprintf(err, len, "interface %s: %s", c->ifaces[i], strerror(errno));
			dhcpd_net_close(n);
			return -1;
		}
		s->fd = dhcpd_udp_socket(&sa, c->ifaces[i], err, len);
		if (s->fd < 0) {
			dhcpd_net_close(n);
			return -1;
		}
		s->ifindex = (int)idx;
		s->scope = -1;
		snprintf(s->name, sizeof(s->name), "%s", c->ifaces[i]);
		n->n_socks++;
	}
	for (size_t i = 0; i < c->n_listen; i++) {
		struct dhcpd_sock *s = &n->socks[n->n_socks];

		s->fd = dhcpd_udp_socket(&c->listen[i], NULL, err, len);
		if (s->fd < 0) {
			dhcpd_net_close(n);
			return -1;
		}
		s->is_listen = true;
		s->scope = -1;
		s->local = ntohl(c->listen[i].sin_addr.s_addr);
		dhcpd_ip_format(s->local, s->name, sizeof(s->name));
		n->n_socks++;
	}
	dhcpd_net_refresh(n, c);
	return 0;
}

void
dhcpd_net_close(struct dhcpd_net *n)
{
	for (size_t i = 0; i < n->n_socks; i++)
		if (n->socks[i].fd >= 0)
			close(n->socks[i].fd);
	if (n->packet_fd >= 0)
		close(n->packet_fd);
	n->n_socks = 0;
	n->packet_fd = -1;
}

/* Each interface's address in a scope (its server identifier) and that scope. */
void
dhcpd_net_refresh(struct dhcpd_net *n, const struct dhcpd_config *c)
{
	struct ifaddrs *ifa = NULL;

	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (size_t i = 0; i < n->n_socks; i++) {
		struct dhcpd_sock *s = &n->socks[i];
		const struct dhcpd_scope *sc;

		if (s->is_listen) {
			sc = s->local != 0 ? dhcpd_scope_for(c, s->local) : NULL;
			s->scope = sc != NULL ? (int)(sc - c->scopes) : -1;
			continue;
		}
		s->local = 0;
		s->scope = -1;
		for (struct ifaddrs *a = ifa; a != NULL; a = a->ifa_next) {
			uint32_t addr;

			if (a->ifa_addr == NULL || a->ifa_addr->sa_family != AF_INET ||
			    strcmp(a->ifa_name, s->name) != 0)
				continue;
			addr = ntohl(((const struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr);
			sc = dhcpd_scope_for(c, addr);
			if (sc != NULL) {
				s->local = addr;
				s->scope = (int)(sc - c->scopes);
				break;
			}
			if (s->local == 0)
				s->local = addr;
		}
		if (s->scope < 0)
			log_warnx("interface %s: no address inside any scope's subnet; direct "
				  "clients there get no answer unless a single scope exists",
				  s->name);
	}
	if (ifa != NULL)
		freeifaddrs(ifa);
}

void
dhcpd_net_read(struct dhcpd *d, struct dhcpd_net *n, size_t i)
{
	static uint8_t bufs[DHCPD_RX_VEC][DHCPD_RX_SIZE];
	static uint8_t cbufs[DHCPD_RX_VEC][CMSG_SPACE(sizeof(struct in_pktinfo))];
	static struct sockaddr_in from[DHCPD_RX_VEC];
	struct mmsghdr msgs[DHCPD_RX_VEC];
	struct iovec iov[DHCPD_RX_VEC];
	const struct dhcpd_sock *s = &n->socks[i];
	size_t total = 0;

	while (total < DHCPD_RX_BATCH) {
		int got;

		for (size_t k = 0; k < DHCPD_RX_VEC; k++) {
			iov[k] = (struct iovec){.iov_base = bufs[k], .iov_len = DHCPD_RX_SIZE};
			msgs[k].msg_hdr = (struct msghdr){.msg_name = &from[k],
				.msg_namelen = sizeof(from[k]), .msg_iov = &iov[k], .msg_iovlen = 1,
				.msg_control = cbufs[k], .msg_controllen = sizeof(cbufs[k])};
			msgs[k].msg_len = 0;
		}
		got = recvmmsg(s->fd, msgs, DHCPD_RX_VEC, MSG_DONTWAIT, NULL);
		if (got <= 0)
			break;
		for (int k = 0; k < got; k++) {
			struct dhcpd_rx rx = {.sock = (int)i, .ifindex = s->ifindex,
					      .is_listen = s->is_listen, .local = s->local,
					      .scope = s->scope};
			struct msghdr *mh = &msgs[k].msg_hdr;

			rx.src = ntohl(from[k].sin_addr.s_addr);
			rx.src_port = ntohs(from[k].sin_port);
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
			     cm = CMSG_NXTHDR(mh, cm)) {
				if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;

					memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
					rx.dst = ntohl(pi.ipi_addr.s_addr);
					if (rx.local == 0)
						rx.local = ntohl(pi.ipi_spec_dst.s_addr);
				}
			}
			if ((mh->msg_flags & MSG_TRUNC) != 0 || msgs[k].msg_len > NAP_DHCP_MAX_LEN) {
				d->m.rx[0]++;
				d->m.drops[DHCPD_DROP_MALFORMED]++;
				LOG_WARNX_RL("datagram over %d bytes from %s: dropped",
					     NAP_DHCP_MAX_LEN, inet_ntoa(from[k].sin_addr));
				continue;
			}
			dhcpd_handle(d, bufs[k], msgs[k].msg_len, &rx);
		}
		total += (size_t)got;
		if (got < DHCPD_RX_VEC)
			break;
	}
}

static uint16_t
dhcpd_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* IPv4 + UDP around the DHCP message, for the packet socket. */
static size_t
dhcpd_frame(const struct dhcpd_out *o, uint8_t *out)
{
	size_t udp_len = 8 + o->len, ip_len = 20 + udp_len;
	uint32_t sum;
	uint16_t c;

	memset(out, 0, 28);
	out[0] = 0x45;
	out[2] = (uint8_t)(ip_len >> 8);
	out[3] = (uint8_t)ip_len;
	out[8] = 64;  /* TTL */
	out[9] = 17;  /* UDP */
	for (int i = 0; i < 4; i++) {
		out[12 + i] = (uint8_t)(o->src_ip >> (24 - 8 * i));
		out[16 + i] = (uint8_t)(o->dst_ip >> (24 - 8 * i));
	}
	c = dhcpd_csum(out, 20, 0);
	out[10] = (uint8_t)(c >> 8);
	out[11] = (uint8_t)c;
	out[20] = 0;
	out[21] = DHCPD_SERVER_PORT;
	out[22] = (uint8_t)(o->dst_port >> 8);
	out[23] = (uint8_t)o->dst_port;
	out[24] = (uint8_t)(udp_len >> 8);
	out[25] = (uint8_t)udp_len;
	memcpy(out + 28, o->buf, o->len);
	/* Pseudo header: source, destination, protocol, UDP length. */
	sum = (uint32_t)(o->src_ip >> 16) + (o->src_ip & 0xffff) + (o->dst_ip >> 16) +
	      (o->dst_ip & 0xffff) + 17 + (uint32_t)udp_len;
	c = dhcpd_csum(out + 20, udp_len, sum);
	if (c == 0)
		c = 0xffff;
	out[26] = (uint8_t)(c >> 8);
	out[27] = (uint8_t)c;
	return ip_len;
}

void
dhcpd_net_send(struct dhcpd *d, const struct dhcpd_out *o)
{
	struct dhcpd_net *n = d->net;
	static uint8_t frame[28 + DHCPD_OUT_MAX];
	ssize_t w = -1;

	if (o->sock < 0 || (size_t)o->sock >= n->n_socks)
		return;
	if (o->dest == DHCPD_DEST_UDP) {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(o->dst_port),
					 .sin_addr.s_addr = htonl(o->dst_ip)};

		w = sendto(n->socks[o->sock].fd, o->buf, o->len, MSG_DONTWAIT,
			   (const struct sockaddr *)&to, sizeof(to));
	} else if (n->packet_fd >= 0) {
		struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
					 .sll_ifindex = o->ifindex, .sll_halen = 6};
		size_t flen = dhcpd_frame(o, frame);

		memcpy(ll.sll_addr, o->mac, 6);
		w = sendto(n->packet_fd, frame, flen, MSG_DONTWAIT, (const struct sockaddr *)&ll,
			   sizeof(ll));
	}
	if (w < 0) {
		char a[16];

		n->send_errors++;
		d->m.drops[DHCPD_DROP_SEND_ERROR]++;
		dhcpd_ip_format(o->dst_ip, a, sizeof(a));
		LOG_WARNX_RL("send to %s: %s", a, strerror(errno));
	} else {
		n->sent++;
	}
}
