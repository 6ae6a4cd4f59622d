# ruff: noqa: E501
"""Help texts Core returns (as error -1) when an RPC gets the wrong number of params.

Copied from the Bitcoin Core v30 recordings; other methods get a short generic text.
"""

HELP = {
    'getblockhash': (
        'getblockhash height\n'
        '\n'
        'Returns hash of block in best-block-chain at height provided.\n'
        '\n'
        'Arguments:\n'
        '1. height    (numeric, required) The height index\n'
        '\n'
        'Result:\n'
        '"hex"    (string) The block hash\n'
        '\n'
        'Examples:\n'
        '> bitcoin-cli getblockhash 1000\n'
        '> curl --user myusername --data-binary \'{"jsonrpc": "2.0", "id": "curltest", "method": "getblockhash", "params": [1000]}\' -H \'content-type: application/json\' http://127.0.0.1:8332/\n'
        ''
    ),
    'getblockcount': (
        'getblockcount\n'
        '\n'
        'Returns the height of the most-work fully-validated chain.\n'
        'The genesis block has height 0.\n'
        '\n'
        'Result:\n'
        'n    (numeric) The current block count\n'
        '\n'
        'Examples:\n'
        '> bitcoin-cli getblockcount \n'
        '> curl --user myusername --data-binary \'{"jsonrpc": "2.0", "id": "curltest", "method": "getblockcount", "params": []}\' -H \'content-type: application/json\' http://127.0.0.1:8332/\n'
        ''
    ),
    'sendrawtransaction': (
        'sendrawtransaction "hexstring" ( maxfeerate maxburnamount )\n'
        '\n'
        'Submit a raw transaction (serialized, hex-encoded) to local node and network.\n'
        '\n'
        'The transaction will be sent unconditionally to all peers, so using sendrawtransaction\n'
        "for manual rebroadcast may degrade privacy by leaking the transaction's origin, as\n"
        'nodes will normally not rebroadcast non-wallet transactions already in their mempool.\n'
        '\n'
        'A specific exception, RPC_TRANSACTION_ALREADY_IN_UTXO_SET, may throw if the transaction cannot be added to the mempool.\n'
        '\n'
        'Related RPCs: createrawtransaction, signrawtransactionwithkey\n'
        '\n'
        'Arguments:\n'
        '1. hexstring        (string, required) The hex string of the raw transaction\n'
        '2. maxfeerate       (numeric or string, optional, default="0.10") Reject transactions whose fee rate is higher than the specified value, expressed in BTC/kvB.\n'
        '                    Fee rates larger than 1BTC/kvB are rejected.\n'
        '                    Set to 0 to accept any fee rate.\n'
        '3. maxburnamount    (numeric or string, optional, default="0.00") Reject transactions with provably unspendable outputs (e.g. \'datacarrier\' outputs that use the OP_RETURN opcode) greater than the specified value, expressed in BTC.\n'
        '                    If burning funds through unspendable outputs is desired, increase this value.\n'
        '                    This check is based on heuristics and does not guarantee spendability of outputs.\n'
        '                    \n'
        '\n'
        'Result:\n'
        '"hex"    (string) The transaction hash in hex\n'
        '\n'
        'Examples:\n'
        '\n'
        'Create a transaction\n'
        '> bitcoin-cli createrawtransaction "[{\\"txid\\" : \\"mytxid\\",\\"vout\\":0}]" "{\\"myaddress\\":0.01}"\n'
        'Sign the transaction, and get back the hex\n'
        '> bitcoin-cli signrawtransactionwithwallet "myhex"\n'
        '\n'
        'Send the transaction (signed hex)\n'
        '> bitcoin-cli sendrawtransaction "signedhex"\n'
        '\n'
        'As a JSON-RPC call\n'
        '> curl --user myusername --data-binary \'{"jsonrpc": "2.0", "id": "curltest", "method": "sendrawtransaction", "params": ["signedhex"]}\' -H \'content-type: application/json\' http://127.0.0.1:8332/\n'
        ''
    ),
}
