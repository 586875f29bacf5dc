import { describe, expect, it } from "vitest";
import { hex } from "../../../../../test/support/hpack-blocks.js";
import { type HeaderField, HpackDecoder } from "./decoder.js";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.js";

// RFC 7541 Appendix C, every example: the blocks as the RFC prints them, the header lists and dynamic
// tables (newest first) and table sizes it says they give.

interface Step {
  block: string;
  headers: HeaderField[];
  table: HeaderField[];
  size: number;
}

function decodeSeries(maxTableSize: number, steps: Step[]): void {
  const decoder = new HpackDecoder({ maxTableSize });
  for (const step of steps) {
    expect(decoder.decode(hex(step.block))).toEqual(step.headers);
    expect(decoder.tableEntries()).toEqual(step.table);
    expect(decoder.tableSize).toBe(step.size);
  }
}

describe("C.1 integer representation", () => {
  // Integers are read through a size update (5-bit prefix, as C.1.1 and C.1.2 use) and an indexed field
  // (7-bit prefix); the decoder accepts a size up to its limit and refuses one above, so the limit shows
  // the value read exactly.
  it("C.1.1: 10 in a 5-bit prefix is one byte", () => {
    expect(() => new HpackDecoder({ maxTableSize: 10 }).decode(hex("2a"))).not.toThrow();
    expect(() => new HpackDecoder({ maxTableSize: 9 }).decode(hex("2a"))).toThrow(
      expect.objectContaining({ reason: "TABLE_SIZE_UPDATE_TOO_LARGE" }),
    );
  });

  it("C.1.2: 1337 in a 5-bit prefix is 1f 9a 0a", () => {
    expect(() => new HpackDecoder({ maxTableSize: 1337 }).decode(hex("3f 9a 0a"))).not.toThrow();
    expect(() => new HpackDecoder({ maxTableSize: 1336 }).decode(hex("3f 9a 0a"))).toThrow(
      expect.objectContaining({ reason: "TABLE_SIZE_UPDATE_TOO_LARGE" }),
    );
  });

  it("C.1.3: an integer at an octet boundary (index 42 as an indexed field: 0x80 | 42)", () => {
    expect(new HpackDecoder().decode(hex("aa"))).toEqual([["if-range", ""]]);
  });
});

describe("C.2 header field representation", () => {
  it("C.2.1: literal with indexing adds the field to the table", () => {
    decodeSeries(4096, [
      {
        block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        headers: [["custom-key", "custom-header"]],
        table: [["custom-key", "custom-header"]],
        size: 55,
      },
    ]);
  });

  it("C.2.2: literal without indexing leaves the table alone", () => {
    decodeSeries(4096, [
      {
        block: "040c 2f73 616d 706c 652f 7061 7468",
        headers: [[":path", "/sample/path"]],
        table: [],
        size: 0,
      },
    ]);
  });

  it("C.2.3: literal never indexed leaves the table alone", () => {
    decodeSeries(4096, [
      {
        block: "1008 7061 7373 776f 7264 0673 6563 7265 74",
        headers: [["password", "secret"]],
        table: [],
        size: 0,
      },
    ]);
  });

  it("C.2.4: indexed field from the static table", () => {
    decodeSeries(4096, [{ block: "82", headers: [[":method", "GET"]], table: [], size: 0 }]);
  });
});

const C3_C4_HEADERS: HeaderField[][] = [
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ],
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ],
  [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ],
];

const C3_C4_TABLES: HeaderField[][] = [
  [[":authority", "www.example.com"]],
  [
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ],
  [
    ["custom-key", "custom-value"],
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ],
];

const C3_C4_SIZES = [57, 110, 164];

describe("C.3 requests without Huffman coding", () => {
  it("decodes the three requests on one connection, indexing into the growing table", () => {
    const blocks = [
      "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "8286 84be 5808 6e6f 2d63 6163 6865",
      "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ];
    decodeSeries(
      4096,
      blocks.map((block, i) => ({
        block,
        headers: C3_C4_HEADERS[i]!,
        table: C3_C4_TABLES[i]!,
        size: C3_C4_SIZES[i]!,
      })),
    );
  });
});

describe("C.4 requests with Huffman coding", () => {
  it("decodes the three requests on one connection, indexing into the growing table", () => {
    const blocks = [
      "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      "8286 84be 5886 a8eb 1064 9cbf",
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ];
    decodeSeries(
      4096,
      blocks.map((block, i) => ({
        block,
        headers: C3_C4_HEADERS[i]!,
        table: C3_C4_TABLES[i]!,
        size: C3_C4_SIZES[i]!,
      })),
    );
  });
});

const DATE_21 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_22 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

const C5_C6_HEADERS: HeaderField[][] = [
  [
    [":status", "302"],
    ["cache-control", "private"],
    ["date", DATE_21],
    ["location", LOCATION],
  ],
  [
    [":status", "307"],
    ["cache-control", "private"],
    ["date", DATE_21],
    ["location", LOCATION],
  ],
  [
    [":status", "200"],
    ["cache-control", "private"],
    ["date", DATE_22],
    ["location", LOCATION],
    ["content-encoding", "gzip"],
    ["set-cookie", COOKIE],
  ],
];

// A 256-byte table: the second response evicts ":status: 302", the third evicts three more entries.
const C5_C6_TABLES: HeaderField[][] = [
  [
    ["location", LOCATION],
    ["date", DATE_21],
    ["cache-control", "private"],
    [":status", "302"],
  ],
  [
    [":status", "307"],
    ["location", LOCATION],
    ["date", DATE_21],
    ["cache-control", "private"],
  ],
  [
    ["set-cookie", COOKIE],
    ["content-encoding", "gzip"],
    ["date", DATE_22],
  ],
];

const C5_C6_SIZES = [222, 222, 215];

describe("C.5 responses without Huffman coding (256-byte table, evictions)", () => {
  it("decodes the three responses, evicting the oldest entries as the RFC shows", () => {
    const blocks = [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      "4803 3330 37c1 c0bf",
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ];
    decodeSeries(
      256,
      blocks.map((block, i) => ({
        block,
        headers: C5_C6_HEADERS[i]!,
        table: C5_C6_TABLES[i]!,
        size: C5_C6_SIZES[i]!,
      })),
    );
  });
});

describe("C.6 responses with Huffman coding (256-byte table, evictions)", () => {
  it("decodes the three responses, evicting the oldest entries as the RFC shows", () => {
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      "4883 640e ffc1 c0bf",
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ];
    decodeSeries(
      256,
      blocks.map((block, i) => ({
        block,
        headers: C5_C6_HEADERS[i]!,
        table: C5_C6_TABLES[i]!,
        size: C5_C6_SIZES[i]!,
      })),
    );
  });
});

describe("the Huffman encoder on the Appendix C strings", () => {
  // Each string with the Huffman code C.4 and C.6 print for it.
  const examples: [string, string][] = [
    ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
    ["no-cache", "a8eb 1064 9cbf"],
    ["custom-key", "25a8 49e9 5ba9 7d7f"],
    ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
    ["302", "6402"],
    ["private", "aec3 771a 4b"],
    [DATE_21, "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"],
    [LOCATION, "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
    ["307", "640e ff"],
    [DATE_22, "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"],
    ["gzip", "9bd9 ab"],
    [
      COOKIE,
      "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ],
  ];

  it.each(examples)("codes %j as the RFC does", (text, code) => {
    const expected = hex(code);
    expect(huffmanEncodedLength(text)).toBe(expected.length);
    const out = new Uint8Array(expected.length);
    expect(huffmanEncode(text, out, 0)).toBe(expected.length);
    expect(out).toEqual(expected);
  });
});
