/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [SRAT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "SRAT"    [System Resource Affinity Table]
[004h 0004   4]                 Table Length : 00000128
[008h 0008   1]                     Revision : 03
[009h 0009   1]                     Checksum : 88
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMSRAT "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   4]               Table Revision : 00000001
[028h 0040   8]                     Reserved : 0000000000000000

[030h 0048   1]                Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]
[031h 0049   1]                       Length : 10

[032h 0050   1]      Proximity Domain Low(8) : 00
[033h 0051   1]                      Apic ID : 00
[034h 0052   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[038h 0056   1]              Local Sapic EID : 00
[039h 0057   3]    Proximity Domain High(24) : 000000
[03Ch 0060   4]                 Clock Domain : 00000000

[040h 0064   1]                Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]
[041h 0065   1]                       Length : 10

[042h 0066   1]      Proximity Domain Low(8) : 00
[043h 0067   1]                      Apic ID : 01
[044h 0068   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[048h 0072   1]              Local Sapic EID : 00
[049h 0073   3]    Proximity Domain High(24) : 000000
[04Ch 0076   4]                 Clock Domain : 00000000

[050h 0080   1]                Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]
[051h 0081   1]                       Length : 10

[052h 0082   1]      Proximity Domain Low(8) : 01
[053h 0083   1]                      Apic ID : 02
[054h 0084   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[058h 0088   1]              Local Sapic EID : 00
[059h 0089   3]    Proximity Domain High(24) : 000000
[05Ch 0092   4]                 Clock Domain : 00000000

[060h 0096   1]                Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]
[061h 0097   1]                       Length : 10

[062h 0098   1]      Proximity Domain Low(8) : 01
[063h 0099   1]                      Apic ID : 03
[064h 0100   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[068h 0104   1]              Local Sapic EID : 00
[069h 0105   3]    Proximity Domain High(24) : 000000
[06Ch 0108   4]                 Clock Domain : 00000000

[070h 0112   1]                Subtable Type : 02 [Processor Local x2APIC Affinity]
[071h 0113   1]                       Length : 18

[072h 0114   2]                    Reserved1 : 0000
[074h 0116   4]             Proximity Domain : 00000001
[078h 0120   4]                      Apic ID : 00000100
[07Ch 0124   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[080h 0128   4]                 Clock Domain : 00000000
[084h 0132   4]                    Reserved2 : 00000000

[088h 0136   1]                Subtable Type : 01 [Memory Affinity]
[089h 0137   1]                       Length : 28

[08Ah 0138   4]             Proximity Domain : 00000000
[08Eh 0142   2]                    Reserved1 : 0000
[090h 0144   8]                 Base Address : 0000000000000000
[098h 0152   8]               Address Length : 0000000080000000
[0A0h 0160   4]                    Reserved2 : 00000000
[0A4h 0164   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
                               Hot Pluggable : 0
                                Non-Volatile : 0
[0A8h 0168   8]                    Reserved3 : 0000000000000000

[0B0h 0176   1]                Subtable Type : 01 [Memory Affinity]
[0B1h 0177   1]                       Length : 28

[0B2h 0178   4]             Proximity Domain : 00000001
[0B6h 0182   2]                    Reserved1 : 0000
[0B8h 0184   8]                 Base Address : 0000000080000000
[0C0h 0192   8]               Address Length : 0000000040000000
[0C8h 0200   4]                    Reserved2 : 00000000
[0CCh 0204   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
                               Hot Pluggable : 0
                                Non-Volatile : 0
[0D0h 0208   8]                    Reserved3 : 0000000000000000

[0D8h 0216   1]                Subtable Type : 01 [Memory Affinity]
[0D9h 0217   1]                       Length : 28

[0DAh 0218   4]             Proximity Domain : 00000001
[0DEh 0222   2]                    Reserved1 : 0000
[0E0h 0224   8]                 Base Address : 0000000100000000
[0E8h 0232   8]               Address Length : 0000000040000000
[0F0h 0240   4]                    Reserved2 : 00000000
[0F4h 0244   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
                               Hot Pluggable : 0
                                Non-Volatile : 0
[0F8h 0248   8]                    Reserved3 : 0000000000000000

[100h 0256   1]                Subtable Type : 01 [Memory Affinity]
[101h 0257   1]                       Length : 28

[102h 0258   4]             Proximity Domain : 00000000
[106h 0262   2]                    Reserved1 : 0000
[108h 0264   8]                 Base Address : 0000000140000000
[110h 0272   8]               Address Length : 0000000200000000
[118h 0280   4]                    Reserved2 : 00000000
[11Ch 0284   4]        Flags (decoded below) : 00000003
                                     Enabled : 1
                               Hot Pluggable : 1
                                Non-Volatile : 0
[120h 0288   8]                    Reserved3 : 0000000000000000

Raw Table Data: Length 296 (0x128)

    0000: 53 52 41 54 28 01 00 00 03 88 43 45 4C 4C 56 4D  // SRAT(.....CELLVM
    0010: 43 56 4D 53 52 41 54 20 01 00 00 00 43 56 4D 4D  // CVMSRAT ....CVMM
    0020: 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0030: 00 10 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0040: 00 10 00 01 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0050: 00 10 01 02 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0060: 00 10 01 03 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0070: 02 18 00 00 01 00 00 00 00 01 00 00 01 00 00 00  // ................
    0080: 00 00 00 00 00 00 00 00 01 28 00 00 00 00 00 00  // .........(......
    0090: 00 00 00 00 00 00 00 00 00 00 00 80 00 00 00 00  // ................
    00A0: 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    00B0: 01 28 01 00 00 00 00 00 00 00 00 80 00 00 00 00  // .(..............
    00C0: 00 00 00 40 00 00 00 00 00 00 00 00 01 00 00 00  // ...@............
    00D0: 00 00 00 00 00 00 00 00 01 28 01 00 00 00 00 00  // .........(......
    00E0: 00 00 00 00 01 00 00 00 00 00 00 40 00 00 00 00  // ...........@....
    00F0: 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0100: 01 28 00 00 00 00 00 00 00 00 00 40 01 00 00 00  // .(.........@....
    0110: 00 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00  // ................
    0120: 00 00 00 00 00 00 00 00                          // ........
