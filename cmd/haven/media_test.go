package main

import (
	"flag"
	"slices"
	"testing"
	"time"
)

func TestMediaConfig(t *testing.T) {
	t.Setenv("HAVEN_RTC_UDP_PORT", "50000")
	t.Setenv("HAVEN_RTC_PUBLIC_IP", "203.0.113.7, 203.0.113.8")
	t.Setenv("HAVEN_STUN_URLS", "stun:stun.example.org:3478")
	t.Setenv("HAVEN_TURN_SECRET", "s3cret")
	cfg, err := parseConfig(flag.NewFlagSet("t", flag.ContinueOnError), []string{"-turn-port", "3478", "-rtc-tcp-port", "50001"})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Media
	if m.UDPPort != 50000 || m.TCPPort != 50001 || m.TURNPort != 3478 || m.TURNSecret != "s3cret" ||
		!slices.Equal(m.PublicIPs, []string{"203.0.113.7", "203.0.113.8"}) || m.TURNTTL != 4*time.Hour || m.SupportCapacity != 8 {
		t.Fatalf("media config %+v", m)
	}
	mc := m.config(nil)
	if mc.TURN.Port != 3478 || mc.TURN.Secret != "s3cret" || len(mc.STUNURLs) != 1 {
		t.Fatalf("media.Config %+v", mc)
	}
	for _, bad := range [][]string{
		{"-rtc-udp-port", "70000"},
		{"-rtc-udp-port", "many"},
		{"-rtc-public-ip", "example.org"},
		{"-stun-urls", "http://stun.example.org"},
		{"-turn-urls", "turn:turn.example.org:3478", "-turn-secret", ""},
		{"-turn-port", "3478", "-turn-secret", ""},
		{"-turn-port", "3478", "-rtc-public-ip", ""},
		{"-support-capacity", "1"},
	} {
		if _, err := parseConfig(flag.NewFlagSet("t", flag.ContinueOnError), bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestRedisClientURLs(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:6379/0", "redis+cluster://a:1,b:2,c:3", "rediss+cluster://user:pw@a:1,b:2?dial_timeout=2s"} {
		c, err := redisClient(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		_ = c.Close()
	}
	if _, err := redisClient("127.0.0.1:6379"); err == nil {
		t.Fatal("a URL without a scheme was accepted")
	}
}
