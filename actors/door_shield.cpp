#include "actors/door_shield.hpp"

#include "actors/log.hpp"

#include <caf/detail/sync_request_bouncer.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <utility>

namespace actorstack {

namespace {

class door_shield final : public caf::monitorable_actor {
public:
  door_shield(caf::actor_config& cfg, caf::actor inner, std::string who)
      : caf::monitorable_actor(cfg), inner_(std::move(inner)), who_(std::move(who)) {}

  const char* name() const override { return "door_shield"; }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override {
    if (!what) return;
    if (reply_from_inner(*what, host)) return;
    if (getf(is_cleaned_up_flag)) {
      caf::detail::sync_request_bouncer{caf::make_error(caf::sec::request_receiver_down)}(*what);
      return;
    }
    const auto& content = what->content();
    if (!what->sender && what->mid.is_request()) return drop("an anonymous request");
    if (what->mid.is_response()) return drop("a response nobody asked for");
    if (content.match_elements<caf::exit_msg>()) return drop("an exit message");
    if (content.match_elements<caf::error>()) return drop("an error message");
    if (content.match_elements<caf::down_msg>()) return drop("a down message");
    if (content.match_elements<caf::group_down_msg>()) return drop("a group-down message");
    if (content.size() > 0 && content.match_element<caf::sys_atom>(0)) return drop("a sys request");
    caf::mailbox_element::forwarding_stack stages;  // whatever the sender set is ignored
    if (what->mid.is_request()) {
      std::lock_guard lock{mtx_};
      pending_.emplace(key_of(*what), what->sender);
      stages.emplace_back(ctrl());
    }
    inner_->enqueue(caf::make_mailbox_element(std::move(what->sender), what->mid, std::move(stages),
                                              what->move_content_to_message()),
                    host);
  }

  // The actor behind ended: requests under way are answered "down".
  void inner_gone(const caf::error& reason) {
    std::map<key, caf::strong_actor_ptr> left;
    {
      std::lock_guard lock{mtx_};
      left.swap(pending_);
    }
    caf::detail::sync_request_bouncer bounce{caf::make_error(caf::sec::request_receiver_down)};
    for (auto& [k, sender] : left) bounce(sender, caf::message_id{k.second});
    cleanup(caf::error{reason}, nullptr);
  }

private:
  // A request is known by its sender and id: ids are unique per sender.
  using key = std::pair<const caf::actor_control_block*, std::uint64_t>;
  static key key_of(const caf::mailbox_element& e) { return {e.sender.get(), e.mid.integer_value()}; }

  // The actor behind answered (through this, its only stage): the answer
  // leaves with the shield as its sender.
  bool reply_from_inner(caf::mailbox_element& e, caf::execution_unit* host) {
    if (!e.mid.is_request() || !e.sender) return false;
    {
      std::lock_guard lock{mtx_};
      auto it = pending_.find(key_of(e));
      if (it == pending_.end()) return false;
      pending_.erase(it);
    }
    // Only the actor behind knows this element's (sender, id) pair while it
    // is under way; the sender itself sending it again would only answer
    // itself.
    auto to = std::move(e.sender);
    to->enqueue(caf::make_mailbox_element(ctrl(), e.mid.response_id(), {}, e.move_content_to_message()), host);
    return true;
  }

  void drop(const char* what) {
    if (drops_.fetch_add(1, std::memory_order_relaxed) < 8)
      log_line(who_ + ": dropped " + what + " from outside the stack");
  }

  const caf::actor inner_;
  const std::string who_;
  std::mutex mtx_;
  std::map<key, caf::strong_actor_ptr> pending_;
  std::atomic<std::uint64_t> drops_{0};
};

}  // namespace

bool is_shield(const caf::abstract_actor* a) noexcept { return dynamic_cast<const door_shield*>(a) != nullptr; }

caf::actor shield(caf::actor_system& sys, caf::actor inner, std::string who) {
  caf::actor_config cfg;
  auto ptr = caf::make_actor<door_shield, caf::strong_actor_ptr>(sys.next_actor_id(), sys.node(), &sys, cfg,
                                                                  inner, std::move(who));
  // Weak: the shield holds the actor behind it, not the other way round.
  caf::weak_actor_ptr weak{ptr.get()};
  inner->attach_functor([weak](const caf::error& reason) {
    if (auto alive = caf::actor_cast<caf::strong_actor_ptr>(weak))
      static_cast<door_shield*>(alive->get())->inner_gone(reason);
  });
  return caf::actor_cast<caf::actor>(std::move(ptr));
}

}  // namespace actorstack
