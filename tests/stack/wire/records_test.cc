// Signed records and PeerInfo: signing and verification (any altered bit fails), the bounds of
// validate_entries, the exact bytes a record signature covers, and the bounded readers.
#include "stack/wire/records.h"

#include <gtest/gtest.h>

#include <string>

namespace qp2p::wire {
namespace {

Identity owner_identity(std::uint64_t seed = 1) {
  Random random = Random::from_u64(seed);
  return Identity::generate(random);
}

Endpoint ep(std::string_view text) { return *Endpoint::parse(text); }

Bytes encode_record(const SignedRecord& r) {
  Bytes out;
  ByteWriter w(out);
  append(w, r);
  return out;
}

TEST(SignedRecordTest, MakeSortsEntriesAndVerifies) {
  const Identity owner = owner_identity();
  SignedRecord r = SignedRecord::make(owner, 5, {{"zeta", "1"}, {"alpha", "2"}, {"mid", ""}});
  EXPECT_EQ(r.owner, owner.id());
  EXPECT_EQ(r.version, 5u);
  const MetaEntries sorted = {{"alpha", "2"}, {"mid", ""}, {"zeta", "1"}};
  EXPECT_EQ(r.entries, sorted);
  EXPECT_TRUE(r.verify());
  ASSERT_NE(r.find("mid"), nullptr);
  EXPECT_EQ(*r.find("mid"), "");
  EXPECT_EQ(*r.find("zeta"), "1");
  EXPECT_EQ(r.find("zet"), nullptr);
  EXPECT_TRUE(SignedRecord::make(owner, 0, {}).verify());
}

TEST(SignedRecordTest, SignedBytesAreDomainOwnerVersionAndEntries) {
  const Identity owner = owner_identity();
  SignedRecord r = SignedRecord::make(owner, 0x0102030405060708ULL, {{"k", "vv"}});
  Bytes expected;
  const std::string domain = "qp2p record v1";
  expected.insert(expected.end(), domain.begin(), domain.end());
  expected.insert(expected.end(), owner.id().key.begin(), owner.id().key.end());
  const Bytes rest = {1,    2,    3,   4,    5,    6,   7,  8,  // version
                      0x01,                                     // one entry
                      0x00, 0x01, 'k', 0x00, 0x02, 'v', 'v'};   // str16 key, str16 value
  expected.insert(expected.end(), rest.begin(), rest.end());
  EXPECT_EQ(r.signed_bytes(), expected);
  EXPECT_TRUE(verify_signature(owner.id(), expected.data(), expected.size(), r.signature));
  // On the wire the signature follows the same fields (without the domain tag).
  Bytes wire = encode_record(r);
  ASSERT_EQ(wire.size(), expected.size() - domain.size() + 64);
  EXPECT_TRUE(std::equal(expected.begin() + domain.size(), expected.end(), wire.begin()));
  EXPECT_TRUE(std::equal(r.signature.begin(), r.signature.end(), wire.end() - 64));
}

TEST(SignedRecordTest, EveryFlippedBitOfTheEncodedRecordFailsVerification) {
  const Identity owner = owner_identity();
  const SignedRecord r = SignedRecord::make(owner, 9, {{"app", "chat"}, {"name", "alice"}});
  const Bytes wire = encode_record(r);
  int decoded_but_rejected = 0;
  for (std::size_t bit = 0; bit < wire.size() * 8; ++bit) {
    Bytes flipped = wire;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    ByteReader reader(flipped.data(), flipped.size());
    SignedRecord back = read_record(reader);
    if (!reader.at_end()) continue;  // a flipped length byte: not even well-formed
    EXPECT_FALSE(back.verify()) << "bit " << bit;
    ++decoded_but_rejected;
  }
  EXPECT_GE(decoded_but_rejected,
            static_cast<int>(wire.size() * 8) - 72);  // 72 = count + length bits
}

TEST(SignedRecordTest, FieldChangesAfterSigningFail) {
  const Identity owner = owner_identity(1), other = owner_identity(2);
  const SignedRecord r = SignedRecord::make(owner, 9, {{"name", "alice"}});
  SignedRecord changed = r;
  changed.version = 10;
  EXPECT_FALSE(changed.verify());
  changed = r;
  changed.entries[0].second = "mallory";
  EXPECT_FALSE(changed.verify());
  changed = r;
  changed.owner = other.id();
  EXPECT_FALSE(changed.verify());
  changed = r;
  changed.entries.push_back({"x", "y"});
  EXPECT_FALSE(changed.verify());
  // A supernode cannot re-sign someone else's record under the owner's name.
  SignedRecord forged = SignedRecord::make(other, 9, {{"name", "alice"}});
  forged.owner = owner.id();
  EXPECT_FALSE(forged.verify());
}

TEST(SignedRecordTest, ValidSignatureOverOutOfBoundsEntriesStillFails) {
  const Identity owner = owner_identity();
  MetaEntries many;
  for (std::size_t i = 0; i <= kMaxEntries; ++i)
    many.push_back({"k" + std::to_string(100 + i), "v"});
  EXPECT_FALSE(SignedRecord::make(owner, 1, many).verify());
  EXPECT_FALSE(SignedRecord::make(owner, 1, {{"", "empty key"}}).verify());
}

TEST(ValidateEntries, AcceptsTheBounds) {
  EXPECT_EQ(validate_entries({}), "");
  MetaEntries max_count;
  for (std::size_t i = 0; i < kMaxEntries; ++i)
    max_count.push_back({"k" + std::to_string(10 + i), ""});
  EXPECT_EQ(validate_entries(max_count), "");
  EXPECT_EQ(validate_entries({{std::string(kMaxKeyBytes, 'k'), std::string(kMaxValueBytes, 'v')}}),
            "");
  // Exactly kMaxRecordBytes of keys and values together.
  MetaEntries full;
  std::size_t total = 0;
  for (char c = 'a'; total + 1 + kMaxValueBytes <= kMaxRecordBytes; ++c) {
    full.push_back({std::string(1, c), std::string(kMaxValueBytes, 'v')});
    total += 1 + kMaxValueBytes;
  }
  full.push_back({"z", std::string(kMaxRecordBytes - total - 1, 'v')});
  EXPECT_EQ(validate_entries(full), "");
}

TEST(ValidateEntries, RejectsEachViolation) {
  MetaEntries too_many;
  for (std::size_t i = 0; i <= kMaxEntries; ++i)
    too_many.push_back({"k" + std::to_string(10 + i), ""});
  const std::pair<MetaEntries, std::string> cases[] = {
      {too_many, "too many"},
      {{{"", "v"}}, "empty"},
      {{{std::string(kMaxKeyBytes + 1, 'k'), "v"}}, "too long"},
      {{{"k", std::string(kMaxValueBytes + 1, 'v')}}, "too long"},
      {{{"a=b", "v"}}, "'='"},
      {{{"b", "1"}, {"a", "2"}}, "not sorted"},
      {{{"a", "1"}, {"a", "2"}}, "unique"},
  };
  for (const auto& [entries, mention] : cases) {
    const std::string why = validate_entries(entries);
    EXPECT_NE(why.find(mention), std::string::npos) << "'" << why << "' should mention " << mention;
  }
  MetaEntries too_big;
  for (char c = 'a'; c <= 'e'; ++c)
    too_big.push_back({std::string(1, c), std::string(kMaxValueBytes, 'v')});
  EXPECT_NE(validate_entries(too_big).find("larger than"), std::string::npos);
}

TEST(RecordCodec, RoundTripsAndBoundsTheEntryCount) {
  const SignedRecord r = SignedRecord::make(owner_identity(), 3, {{"a", "1"}, {"b", "2"}});
  const Bytes wire = encode_record(r);
  ByteReader reader(wire.data(), wire.size());
  SignedRecord back = read_record(reader);
  ASSERT_TRUE(reader.at_end());
  EXPECT_EQ(back.owner, r.owner);
  EXPECT_EQ(back.version, r.version);
  EXPECT_EQ(back.entries, r.entries);
  EXPECT_EQ(back.signature, r.signature);
  EXPECT_TRUE(back.verify());

  Bytes bad = wire;
  bad[32 + 8] = static_cast<std::uint8_t>(kMaxEntries + 1);
  ByteReader bad_reader(bad.data(), bad.size());
  read_record(bad_reader);
  EXPECT_FALSE(bad_reader.ok());
}

TEST(PeerInfoCodec, RoundTripsWithAndWithoutRecord) {
  const Identity owner = owner_identity();
  for (bool with_record : {false, true}) {
    for (const char* mapped : {"192.0.2.44:1234", "[2001:db8::44]:65535"}) {
      PeerInfo info;
      info.id = owner.id();
      info.online = !with_record;
      info.mapped = ep(mapped);
      info.supernode = owner_identity(9).id();
      if (with_record) info.record = SignedRecord::make(owner, 1, {{"x", "y"}});
      Bytes out;
      ByteWriter w(out);
      append(w, info);
      ByteReader r(out.data(), out.size());
      PeerInfo back = read_peer_info(r);
      ASSERT_TRUE(r.at_end());
      EXPECT_EQ(back.id, info.id);
      EXPECT_EQ(back.online, info.online);
      EXPECT_EQ(back.mapped, info.mapped);
      EXPECT_EQ(back.supernode, info.supernode);
      ASSERT_EQ(back.record.has_value(), with_record);
      if (with_record) {
        EXPECT_TRUE(back.record->verify());
      }
      // 32 id + 1 flags + endpoint + 32 supernode (+ record).
      const std::size_t endpoint = info.mapped.address.is_v4() ? 7 : 19;
      EXPECT_EQ(out.size(), 65 + endpoint + (with_record ? encode_record(*info.record).size() : 0));
    }
  }
}

TEST(EndpointCodec, RejectsUnknownFamiliesAndTruncation) {
  const Bytes bad_family = {5, 1, 2, 3, 4, 0, 80};
  ByteReader r1(bad_family.data(), bad_family.size());
  read_endpoint(r1);
  EXPECT_FALSE(r1.ok());
  const Bytes short_v6 = {6, 1, 2, 3, 4, 0, 80};
  ByteReader r2(short_v6.data(), short_v6.size());
  read_endpoint(r2);
  EXPECT_FALSE(r2.ok());
  const Bytes v4 = {4, 192, 0, 2, 1, 0x0d, 0x96};
  ByteReader r3(v4.data(), v4.size());
  EXPECT_EQ(read_endpoint(r3), ep("192.0.2.1:3478"));
  EXPECT_TRUE(r3.at_end());
}

}  // namespace
}  // namespace qp2p::wire
