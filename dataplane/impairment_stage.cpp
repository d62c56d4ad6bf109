// The impairment stage on mbufs (see impairment_stage.hpp).

#include "dataplane/impairment_stage.hpp"

#include "dataplane/packet/packet.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>

namespace actorstack::dataplane {

impairment_stage::impairment_stage(const impairment_config& cfg, std::uint64_t salt, rte_mempool* pool)
    : policy_(cfg, salt), pool_(pool) {
  const std::uint64_t hz = rte_get_tsc_hz();
  delay_ticks_ = hz / 1000 * cfg.delay_ms;
  hold_limit_ticks_ = hz / 1000;
}

impairment_stage::~impairment_stage() {
  if (held_ != nullptr) rte_pktmbuf_free(held_);
  for (auto& d : delayed_) rte_pktmbuf_free(d.second);
}

void impairment_stage::emit(rte_mbuf* m, std::uint64_t now_tsc, std::vector<rte_mbuf*>& out) {
  if (delay_ticks_ == 0) {
    out.push_back(m);
    return;
  }
  ++policy_.counters().delayed;
  delayed_.emplace_back(now_tsc + delay_ticks_, m);
}

void impairment_stage::process(rte_mbuf* m, std::uint64_t now_tsc, std::vector<rte_mbuf*>& out) {
  const impairment_verdict v = policy_.next();
  if (v.drop) {
    rte_pktmbuf_free(m);
    return;
  }
  // Faults touch only what follows the Ethernet header, so the frame still
  // reaches the stack (or the peer) and its checksums are what catch it.
  const std::uint32_t len = rte_pktmbuf_data_len(m);
  if (v.corrupt && len > eth_header_size) {
    const std::uint32_t bits = (len - static_cast<std::uint32_t>(eth_header_size)) * 8;
    const std::uint32_t bit = v.corrupt_bit % bits;
    auto* p = rte_pktmbuf_mtod_offset(m, std::uint8_t*, eth_header_size + bit / 8);
    *p = static_cast<std::uint8_t>(*p ^ (1u << (bit % 8)));
  }
  if (v.truncate && len > eth_header_size) {
    const auto to = static_cast<std::uint16_t>(eth_header_size + v.truncate_to % (len - eth_header_size));
    m->data_len = to;
    m->pkt_len = to;
  }
  rte_mbuf* copy = nullptr;
  if (v.duplicate && pool_ != nullptr) copy = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
  if (v.hold && held_ == nullptr) {
    held_ = m;  // leaves after the next frame
    held_since_ = now_tsc;
    if (copy != nullptr) emit(copy, now_tsc, out);
    return;
  }
  emit(m, now_tsc, out);
  if (copy != nullptr) emit(copy, now_tsc, out);
  if (held_ != nullptr) {
    emit(held_, now_tsc, out);
    held_ = nullptr;
  }
}

void impairment_stage::release(std::uint64_t now_tsc, std::vector<rte_mbuf*>& out) {
  if (held_ != nullptr && now_tsc - held_since_ > hold_limit_ticks_) {
    emit(held_, now_tsc, out);
    held_ = nullptr;
  }
  while (!delayed_.empty() && delayed_.front().first <= now_tsc) {
    out.push_back(delayed_.front().second);
    delayed_.pop_front();
  }
}

}  // namespace actorstack::dataplane
