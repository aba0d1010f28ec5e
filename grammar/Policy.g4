// SPDX-License-Identifier: GPL-2.0-or-later
// The .pol language. Structure (hosts, tables, chains, rules, statements) is spelled out here so
// syntax errors are precise; values stay generic (`value`) and are typed by the resolver, which
// knows what each field accepts and can say "IPv6 address where IPv4 is required" with a location.
//
// Newlines are not significant; `;` may separate items. Every rule ends with a statement
// (a verdict, an action, or `counter`) or with `;`, which is what tells where one rule stops.
grammar Policy;

file : topItem* EOF ;

topItem
    : hostDecl
    | hostItem
    ;

hostDecl : 'host' name '{' hostItem* '}' ;

hostItem
    : defineDecl
    | includeDecl
    | interfaceDecl
    | tunnelDecl
    | appDecl
    | tproxyDecl
    | masqueradeDecl
    | forwardDecl
    | forwardingDecl
    | rpFilterDecl
    | tableDecl
    | ipRuleDecl
    | routeDecl
    | sysctlDecl
    | ';'
    ;

defineDecl  : 'define' name '=' valueList ;
includeDecl : 'include' STRING ;

// ---- interfaces and tunnels -------------------------------------------------------------------
interfaceDecl : 'interface' name ( '{' linkProp* '}' )? ;
tunnelDecl    : 'tunnel' name '{' linkProp* '}' ;

linkProp
    : 'kind' name                                   # linkKind
    | 'address' valueList                           # linkAddress
    | 'peer' value                                  # linkPeer
    | 'local' value                                 # linkLocal
    | 'remote' value                                # linkRemote
    | 'port' value                                  # linkPort
    | 'fwmark' value                                # linkFwmark
    | ';'                                           # linkEmpty
    ;

// ---- intents: per-application routing, transparent proxy, NAT ----------------------------------
appDecl : 'app' name '{' appProp* '}' ;

appProp
    : 'user' valueList                              # appUser
    | 'group' valueList                             # appGroup
    | 'cgroup' valueList                            # appCgroup
    | 'via' name                                    # appVia
    | 'mark' value                                  # appMark
    | 'table' value                                 # appTable
    | 'priority' value                              # appPriority
    | 'ipv6' name                                   # appIpv6
    | ';'                                           # appEmpty
    ;

// tproxy tcp, udp port 80 in eth0 to :8000 [mark 1] [table 100]
tproxyDecl : 'tproxy' valueList 'port' valueList 'in' name 'to' value intentOption* ;
// masquerade [from 10.0.0.0/24] [out eth1]
masqueradeDecl : 'masquerade' ( 'from' valueList )? ( 'out' name )? ;
// forward tcp, udp port 1000 [in eth1] to 10.0.0.3:1000
forwardDecl : 'forward' valueList 'port' valueList ( 'in' name )? 'to' value ;
// forwarding ipv4 | ipv6 | all
forwardingDecl : 'forwarding' name ;
// rp_filter all|IFACE strict|loose|off
rpFilterDecl : 'rp_filter' name name ;

intentOption
    : 'mark' value
    | 'table' value
    | 'priority' value
    ;

// ---- tables, chains, rules --------------------------------------------------------------------
tableDecl : 'table' family? name '{' chainDecl* '}' ;
family    : 'ip' | 'ip6' | 'inet' ;
chainDecl : 'chain' name ( 'policy' name )? '{' ruleDecl* '}' | ';' ;

// A rule without statement (matches closed by `;`) does nothing; in nftables it does not count.
ruleDecl : annotation* ( matchExpr* statement comment? ';'? | matchExpr+ ';' ) ;

annotation : '@allow' '(' name ( ',' STRING )? ')' ;
comment    : 'comment' STRING ;

matchExpr
    : addrFamily? ( 'saddr' | 'daddr' ) negation? valueList        # addrMatch
    | 'tcp' 'flags' negation? tcpFlagList '/' tcpFlagList           # tcpFlagsMatch
    | l4proto ( ( 'sport' | 'dport' ) negation? valueList )?        # l4Match
    | 'proto' negation? valueList                                   # protoMatch
    | ( 'iif' | 'oif' ) negation? value                             # ifaceMatch
    | 'ct' 'state' negation? valueList                              # ctStateMatch
    | 'state' negation? valueList                                   # stateMatch
    | 'ct' 'mark' negation? value                                   # ctMarkMatch
    | 'mark' negation? value                                        # markMatch
    | ( 'user' | 'group' ) negation? value                          # ownerMatch
    | 'cgroup' negation? value                                      # cgroupMatch
    | 'socket' 'transparent'?                                       # socketMatch
    | ( 'icmp' | 'icmpv6' ) 'type' negation? value ( 'code' value )? # icmpMatch
    | 'addrtype' ( 'saddr' | 'daddr' ) negation? value              # addrTypeMatch
    | 'limit' value ( 'burst' value )?                              # limitMatch
    | 'ether' 'saddr' negation? value                               # macMatch
    | comment                                                       # commentMatch
    ;

// tcp flags syn / fin,syn,rst,ack: the flags set (or `none`), then the flags tested
tcpFlagList : name ( ',' name )* ;
addrFamily : 'ip' | 'ip6' ;
l4proto    : 'tcp' | 'udp' | 'sctp' ;
negation   : '!=' | 'not' ;

statement
    : 'accept'                                                      # acceptStmt
    | 'drop'                                                        # dropStmt
    | 'reject' ( 'with' name )?                                     # rejectStmt
    | 'return'                                                      # returnStmt
    | 'jump' name                                                   # jumpStmt
    | 'goto' name                                                   # gotoStmt
    | 'counter'                                                     # counterStmt
    | 'log' ( 'prefix' STRING )? ( 'level' value )?                 # logStmt
    | 'mark' 'set' value                                            # markSetStmt
    | 'ct' 'mark' 'set' value                                       # ctMarkSetStmt
    | 'ct' 'mark' 'save' ( 'mask' value )?                          # ctMarkSaveStmt
    | 'ct' 'mark' 'restore' ( 'mask' value )?                       # ctMarkRestoreStmt
    | 'snat' 'to' value                                             # snatStmt
    | 'dnat' 'to' value                                             # dnatStmt
    | 'masquerade' ( 'to' value )?                                  # masqueradeStmt
    | 'redirect' ( 'to' value )?                                    # redirectStmt
    | 'tproxy' addrFamily? 'to' value ( 'mark' value )?            # tproxyStmt
    | 'notrack'                                                     # notrackStmt
    | 'tcp' 'mss' ( 'clamp' | 'set' value )                         # tcpMssStmt
    ;

// ---- policy routing and sysctls ---------------------------------------------------------------
// rule [ip|ip6] [priority N] [not] SELECTOR... (lookup|table) TABLE | blackhole | unreachable | prohibit
ipRuleDecl : 'rule' addrFamily? ( 'priority' value )? 'not'? ruleSelector* ruleAction ;
ruleSelector
    : 'fwmark' value
    | 'iif' name
    | 'oif' name
    | 'uidrange' value
    | 'from' value
    | 'to' value
    ;
ruleAction : ( 'lookup' | 'table' ) value | 'blackhole' | 'unreachable' | 'prohibit' ;

// route [ip|ip6] [local|blackhole|unreachable|prohibit] (default|PREFIX) [via A] [dev D] [src A]
//       [table T] [metric N]
routeDecl  : 'route' addrFamily? routeType? value routeOption* ;
routeType  : 'local' | 'blackhole' | 'unreachable' | 'prohibit' ;
routeOption
    : 'via' value
    | 'dev' name
    | 'src' value
    | 'table' value
    | 'metric' value
    ;

sysctlDecl : 'sysctl' name '=' value ;

// ---- values -----------------------------------------------------------------------------------
valueList : value ( ',' value )* ;

// Ranges (a-b), prefixes and masks (a/b), address:port and :port are kept as written; the
// resolver decides what they mean for the field at hand.
value
    : '{' valueList ','? '}'                        # setValue
    | ':' atom ( '-' atom )?                        # portOnlyValue
    | '[' atom ']' ':' atom ( '-' atom )?           # bracketPortValue
    | atom ( '-' atom )? ( ':' atom ( '-' atom )? )? # plainValue
    | atom '/' atom                                 # slashValue
    ;

atom : NUMBER | IPV4 | ADDR6 | STRING | VAR | name ;

// Names may be spelled like keywords: `chain input`, `user log`, interface `local` ...
name
    : ID
    | 'host' | 'define' | 'include' | 'interface' | 'tunnel' | 'kind' | 'address' | 'peer'
    | 'local' | 'remote' | 'port' | 'fwmark' | 'app' | 'user' | 'group' | 'cgroup' | 'via'
    | 'mark' | 'table' | 'priority' | 'ipv6' | 'tproxy' | 'in' | 'to' | 'masquerade' | 'from'
    | 'out' | 'forward' | 'forwarding' | 'rp_filter' | 'ip' | 'ip6' | 'inet' | 'chain' | 'policy'
    | 'comment' | 'saddr' | 'daddr' | 'sport' | 'dport' | 'tcp' | 'udp' | 'sctp' | 'flags' | 'proto'
    | 'iif' | 'oif' | 'ct' | 'state' | 'socket' | 'transparent' | 'icmp' | 'icmpv6' | 'type'
    | 'code' | 'addrtype' | 'limit' | 'burst' | 'ether' | 'not' | 'accept' | 'drop' | 'reject'
    | 'with' | 'return' | 'jump' | 'goto' | 'counter' | 'log' | 'prefix' | 'level'
    | 'mask' | 'snat' | 'dnat' | 'redirect' | 'notrack' | 'rule' | 'mss' | 'clamp'
    | 'uidrange' | 'lookup' | 'blackhole' | 'unreachable' | 'prohibit' | 'route' | 'dev' | 'src'
    | 'metric' | 'sysctl' | 'default'
    ;

// ---- lexer ------------------------------------------------------------------------------------
// Any run of hex digits, colons and dots with at least two colons: IPv6 addresses and MAC
// addresses. The resolver validates it. `10.0.0.3:1000` has one colon and stays IPV4 ':' NUMBER.
ADDR6   : [0-9a-fA-F.]* ':' [0-9a-fA-F.]* ':' [0-9a-fA-F:.]* ;
IPV4    : DEC '.' DEC '.' DEC '.' DEC ;
NUMBER  : '0' [xX] [0-9a-fA-F]+ | DEC ;
STRING  : '"' ( ~["\\\r\n] | '\\' ~[\r\n] )* '"' ;
VAR     : '$' [a-zA-Z_] [a-zA-Z0-9_]* ;
ID      : [a-zA-Z_] [a-zA-Z0-9_.+*]* ( '-' [a-zA-Z0-9_.+*]+ )* ;

fragment DEC : [0-9]+ ;

LINE_COMMENT : '#' ~[\r\n]* -> skip ;
WS           : [ \t\r\n]+ -> skip ;
// Anything else is one bad character; the parser reports it where it stands.
ERROR_CHAR   : . ;
