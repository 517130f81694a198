"""What the test tiers, the benchmarks and the chaos run share: the Usher API client
(:mod:`.api`), the test stack's places (:mod:`.env`), rows made straight in the database
(:mod:`.db`), vendor fakes (:mod:`.vendors`), Kafka read-back (:mod:`.topics`) and the plain
identity model the property tests compare with (:mod:`.reference`)."""
