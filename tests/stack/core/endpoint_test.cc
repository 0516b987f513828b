// IpAddress / Endpoint text forms: strict dotted quad, RFC 4291 section 2.2 input, RFC 5952
// section 4 output, Endpoint "ip:port" / "[v6]:port", hashing and address classes.
#include "stack/core/endpoint.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace qp2p {
namespace {

std::string round_trip(std::string_view text) {
  auto a = IpAddress::parse(text);
  return a ? a->to_string() : "<invalid>";
}

TEST(EndpointIpv4, ParsesAndFormatsDottedQuad) {
  auto a = IpAddress::parse("192.0.2.1");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->size(), 4u);
  EXPECT_EQ(a->v4_host_order(), 0xC0000201u);
  EXPECT_EQ(a->to_string(), "192.0.2.1");
  EXPECT_EQ(round_trip("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(round_trip("255.255.255.255"), "255.255.255.255");
  EXPECT_EQ(*a, IpAddress::v4(0xC0000201u));
  EXPECT_EQ(*a, IpAddress::v4({192, 0, 2, 1}));
}

TEST(EndpointIpv4, RejectsAnythingButFourStrictParts) {
  for (const char* bad :
       {"",           "1",          "1.2.3",     "1.2.3.4.5", "256.1.1.1", "1.2.3.256",
        "1.2.3.1000", " 1.2.3.4",   "1.2.3.4 ",  "x1.2.3.4",  "1.2.3.4x",  "1..3.4",
        ".1.2.3.4",   "1.2.3.4.",   "01.2.3.4",  "1.2.3.04",  "0x1.2.3.4", "+1.2.3.4",
        "1.2.-3.4",   "1.2.3.4/24", "1.2.3.4:80"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(EndpointIpv6, ParsesRfc4291Forms) {
  auto a = IpAddress::parse("2001:DB8:0:0:8:800:200C:417A");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_EQ(a->data()[0], 0x20);
  EXPECT_EQ(a->data()[15], 0x7A);
  EXPECT_EQ(*a, *IpAddress::parse("2001:DB8::8:800:200C:417A"));
  EXPECT_EQ(*IpAddress::parse("FF01:0:0:0:0:0:0:101"), *IpAddress::parse("FF01::101"));
  EXPECT_EQ(*IpAddress::parse("0:0:0:0:0:0:0:1"), *IpAddress::parse("::1"));
  EXPECT_EQ(*IpAddress::parse("0:0:0:0:0:0:0:0"), *IpAddress::parse("::"));
  EXPECT_EQ(*IpAddress::parse("0:0:0:0:0:0:13.1.68.3"), *IpAddress::parse("::13.1.68.3"));
  EXPECT_EQ(*IpAddress::parse("0:0:0:0:0:FFFF:129.144.52.38"),
            *IpAddress::parse("::FFFF:129.144.52.38"));
  EXPECT_EQ(*IpAddress::parse("1:2:3:4:5:6:7::"), *IpAddress::parse("1:2:3:4:5:6:7:0"));
  EXPECT_EQ(*IpAddress::parse("::2:3:4:5:6:7:8"), *IpAddress::parse("0:2:3:4:5:6:7:8"));
  EXPECT_EQ(*IpAddress::parse("1::8"), *IpAddress::parse("1:0:0:0:0:0:0:8"));
}

TEST(EndpointIpv6, RejectsMalformedText) {
  for (const char* bad : {":",
                          ":::",
                          "1:::2",
                          "1::2::3",
                          ":1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:",
                          "1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:8:9",
                          "1:2:3:4:5:6:7:8::",
                          "::1:2:3:4:5:6:7:8",
                          "12345::",
                          "g::1",
                          "::1.2.3",
                          "::1.2.3.4.5",
                          "::256.1.1.1",
                          "1:2:3:4:5:6:7:1.2.3.4",
                          "1.2.3.4::",
                          "::1.2.3.4:5",
                          "fe80::1%eth0",
                          " ::1",
                          "::1 ",
                          "[::1]",
                          "1:2:3:4:5:6:1.2.3.4:8"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(EndpointIpv6, FormatsPerRfc5952) {
  EXPECT_EQ(round_trip("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  EXPECT_EQ(round_trip("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");     // first of equal runs
  EXPECT_EQ(round_trip("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");           // longest run
  EXPECT_EQ(round_trip("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");  // one zero group stays
  EXPECT_EQ(round_trip("::"), "::");
  EXPECT_EQ(round_trip("::1"), "::1");
  EXPECT_EQ(round_trip("1::"), "1::");
  EXPECT_EQ(round_trip("0:0:0:1:0:0:0:0"), "0:0:0:1::");
  EXPECT_EQ(round_trip("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789"),
            "abcd:ef01:2345:6789:abcd:ef01:2345:6789");
  EXPECT_EQ(round_trip("2001:db8:1234:5678:0011:2233:4455:6677"),
            "2001:db8:1234:5678:11:2233:4455:6677");
  EXPECT_EQ(round_trip("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
  EXPECT_EQ(round_trip("0:0:0:0:0:ffff:c000:0201"), "::ffff:192.0.2.1");
  EXPECT_EQ(round_trip("::13.1.68.3"), "::d01:4403");
}

TEST(EndpointParse, AcceptsV4AndBracketedV6) {
  auto e = Endpoint::parse("1.2.3.4:5");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address, *IpAddress::parse("1.2.3.4"));
  EXPECT_EQ(e->port, 5);
  EXPECT_EQ(e->to_string(), "1.2.3.4:5");

  auto v6 = Endpoint::parse("[2001:db8::1]:3478");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->address.is_v6());
  EXPECT_EQ(v6->port, 3478);
  EXPECT_EQ(v6->to_string(), "[2001:db8::1]:3478");
  EXPECT_EQ(Endpoint::parse("[::]:65535")->port, 65535);
  EXPECT_EQ(Endpoint::parse("0.0.0.0:0")->port, 0);
}

TEST(EndpointParse, RejectsBadPortsAndForms) {
  for (const char* bad : {"1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:99999", "1.2.3.4:123456",
                          "1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4:8a", "1.2.3.4: 80", "1.2.3.4:80:1",
                          "2001:db8::1:80", "[2001:db8::1]", "[2001:db8::1]:", "[2001:db8::1]80",
                          "[2001:db8::1:80", "[1.2.3.4]:80", ":80", "[]:80", "1.2.3:80"}) {
    EXPECT_FALSE(Endpoint::parse(bad)) << bad;
  }
}

TEST(EndpointClasses, LoopbackAndUnspecified) {
  EXPECT_TRUE(IpAddress::parse("127.0.0.1")->is_loopback());
  EXPECT_TRUE(IpAddress::parse("127.255.1.2")->is_loopback());
  EXPECT_FALSE(IpAddress::parse("128.0.0.1")->is_loopback());
  EXPECT_TRUE(IpAddress::parse("::1")->is_loopback());
  EXPECT_FALSE(IpAddress::parse("::2")->is_loopback());
  EXPECT_FALSE(IpAddress::parse("::")->is_loopback());
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddress().is_unspecified());
  EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("::1")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("0.0.0.1")->is_unspecified());
}

TEST(EndpointOrdering, V4AndV6WithSameBytesDiffer) {
  // 0.0.0.0 and :: share their (all-zero) bytes; only the family tells them apart.
  EXPECT_NE(*IpAddress::parse("0.0.0.0"), *IpAddress::parse("::"));
  EXPECT_LT(*IpAddress::parse("255.255.255.255"), *IpAddress::parse("::"));
  Endpoint a{*IpAddress::parse("1.2.3.4"), 5}, b{*IpAddress::parse("1.2.3.4"), 6};
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
}

TEST(EndpointHash, EqualEndpointsHashEquallyAndNeighboursSpread) {
  EndpointHash hash;
  EXPECT_EQ(hash(*Endpoint::parse("192.0.2.1:3478")), hash(*Endpoint::parse("192.0.2.1:3478")));
  EXPECT_NE(hash(*Endpoint::parse("0.0.0.0:1")), hash(*Endpoint::parse("[::]:1")));
  std::unordered_set<std::size_t> hashes;
  std::unordered_set<std::size_t> low_bits;
  for (unsigned port = 1000; port < 2000; ++port) {
    std::size_t h = hash(Endpoint{IpAddress::v4(0xC0000201u), static_cast<std::uint16_t>(port)});
    hashes.insert(h);
    low_bits.insert(h & 0x3ff);
  }
  EXPECT_EQ(hashes.size(), 1000u);
  EXPECT_GT(low_bits.size(), 550u);  // ~632 expected for 1000 random values in 1024 buckets
  std::unordered_set<Endpoint, EndpointHash> set;
  set.insert(*Endpoint::parse("[2001:db8::1]:1"));
  set.insert(*Endpoint::parse("[2001:db8::1]:1"));
  set.insert(*Endpoint::parse("[2001:db8::2]:1"));
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace qp2p
