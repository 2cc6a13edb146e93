/* cluster_replies.h -- real replies of a Redis Cluster, as RESP bytes.
 *
 * Captured from redis-server 7.0.15 on loopback: six nodes on ports
 * 27101-27106 started with --cluster-enabled yes and joined with
 * `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`,
 * then read with a raw socket (the bytes exactly as sent). Tests feed
 * them to hiredis's reader (redisReaderFeed) to get the redisReply wishd
 * would get. Node ids: 27101 ae5471cd..., 27102 3c18f784..., 27103
 * ecc40910..., replicas 27104-27106.
 */
#ifndef MICROWISH_TESTS_CLUSTER_REPLIES_H
#define MICROWISH_TESTS_CLUSTER_REPLIES_H

/* CLUSTER SHARDS of a cluster just made by redis-cli --cluster create: three
 * shards, each a master and a replica still loading. */
static const char REPLY_SHARDS_INITIAL[] =
    "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\n"
    "nodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\necc409100773e9e597395f8af4a2dab0f78474b0\r\n"
    "$4\r\nport\r\n:27103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\ne8da8a6f54888b04928f08451e929fbccd241cc1\r\n"
    "$4\r\nport\r\n:27105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\n"
    "loading\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\n"
    "nodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n"
    "$4\r\nport\r\n:27101\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "$4\r\nport\r\n:27106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\n"
    "loading\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n"
    "$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929\r\n"
    "$4\r\nport\r\n:27102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "$4\r\nport\r\n:27104\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\n"
    "loading\r\n";

/* CLUSTER SLOTS at the same moment (replicas not listed yet: they were not
 * synced). */
static const char REPLY_SLOTS_INITIAL[] =
    "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n"
    "$40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0\r\n"
    "*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:27102\r\n"
    "$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929\r\n*0\r\n"
    "*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:27103\r\n"
    "$40\r\necc409100773e9e597395f8af4a2dab0f78474b0\r\n*0\r\n";

/* CLUSTER SHARDS after slot 206 ({jinan}) was migrated from 27101 to 27102: two
 * shards own several ranges. */
static const char REPLY_SHARDS_MOVED[] =
    "*3\r\n*4\r\n$5\r\nslots\r\n*4\r\n:206\r\n:206\r\n:5461\r\n"
    ":10922\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "3c18f784937eb10498cf6c398c3e26cde8e30929\r\n$4\r\nport\r\n"
    ":27102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:132\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "$4\r\nport\r\n:27104\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:132\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n"
    "$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\necc409100773e9e597395f8af4a2dab0f78474b0\r\n"
    "$4\r\nport\r\n:27103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:42\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\ne8da8a6f54888b04928f08451e929fbccd241cc1\r\n"
    "$4\r\nport\r\n:27105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:42\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:205\r\n:207\r\n"
    ":5460\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "ae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n$4\r\nport\r\n"
    ":27101\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:128\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "$4\r\nport\r\n:27106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:128\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n";

/* CLUSTER SLOTS at the same moment: one entry per range, slot 206 on its own.
 */
static const char REPLY_SLOTS_MOVED[] =
    "*5\r\n*4\r\n:0\r\n:205\r\n*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n"
    "$40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:27106\r\n$"
    "40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "*0\r\n*4\r\n:206\r\n:206\r\n*4\r\n$9\r\n127.0.0.1\r\n:27102\r\n"
    "$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:27104\r\n$"
    "40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "*0\r\n*4\r\n:207\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n"
    "$40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:27106\r\n$"
    "40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "*0\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n"
    ":27102\r\n$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929\r\n"
    "*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:27104\r\n$"
    "40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "*0\r\n*4\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n"
    ":27103\r\n$40\r\necc409100773e9e597395f8af4a2dab0f78474b0\r\n"
    "*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:27105\r\n$"
    "40\r\ne8da8a6f54888b04928f08451e929fbccd241cc1\r\n"
    "*0\r\n";

/* CLUSTER SHARDS 3 s after kill -9 of master 27103: its replica 27105 is master
 * of 10923-16383, the dead node is a shard of its own with no slots and health
 * fail. */
static const char REPLY_SHARDS_FAILOVER[] =
    "*4\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*14\r\n"
    "$2\r\nid\r\n$40\r\necc409100773e9e597395f8af4a2dab0f78474b0\r\n"
    "$4\r\nport\r\n:27103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:56\r\n$6\r\nhealth\r\n$4\r\n"
    "fail\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\n"
    "nodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\ne8da8a6f54888b04928f08451e929fbccd241cc1\r\n"
    "$4\r\nport\r\n:27105\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:56\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:205\r\n:207\r\n"
    ":5460\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "ae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n$4\r\nport\r\n"
    ":27101\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:142\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "$4\r\nport\r\n:27106\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:142\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n*4\r\n$5\r\nslots\r\n*4\r\n:206\r\n:206\r\n:5461\r\n"
    ":10922\r\n$5\r\nnodes\r\n*2\r\n*14\r\n$2\r\nid\r\n$40\r\n"
    "3c18f784937eb10498cf6c398c3e26cde8e30929\r\n$4\r\nport\r\n"
    ":27102\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n"
    "$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:146\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "$4\r\nport\r\n:27104\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\n"
    "endpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:146\r\n$6\r\nhealth\r\n$6\r\n"
    "online\r\n";

/* CLUSTER SLOTS at the same moment. */
static const char REPLY_SLOTS_FAILOVER[] =
    "*5\r\n*4\r\n:0\r\n:205\r\n*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n"
    "$40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:27106\r\n$"
    "40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "*0\r\n*4\r\n:206\r\n:206\r\n*4\r\n$9\r\n127.0.0.1\r\n:27102\r\n"
    "$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:27104\r\n$"
    "40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "*0\r\n*4\r\n:207\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:27101\r\n"
    "$40\r\nae5471cd000e6ee6c1ea4d777876b773b899d54e\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:27106\r\n$"
    "40\r\n934e762895fe00eb4805cbccde5f975848257682\r\n"
    "*0\r\n*4\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n"
    ":27102\r\n$40\r\n3c18f784937eb10498cf6c398c3e26cde8e30929\r\n"
    "*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:27104\r\n$"
    "40\r\n940cafbcee02697395e52cbeb8708769e3bc330e\r\n"
    "*0\r\n*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n"
    ":27105\r\n$40\r\ne8da8a6f54888b04928f08451e929fbccd241cc1\r\n"
    "*0\r\n";

#endif
