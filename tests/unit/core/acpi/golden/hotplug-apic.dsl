/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [APIC]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "APIC"    [Multiple APIC Description Table (MADT)]
[004h 0004   4]                 Table Length : 0000007C
[008h 0008   1]                     Revision : 05
[009h 0009   1]                     Checksum : 31
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMAPIC "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   4]           Local Apic Address : FEE00000
[028h 0040   4]        Flags (decoded below) : 00000001
                         PC-AT Compatibility : 1

[02Ch 0044   1]                Subtable Type : 00 [Processor Local APIC]
[02Dh 0045   1]                       Length : 08
[02Eh 0046   1]                 Processor ID : 00
[02Fh 0047   1]                Local Apic ID : 00
[030h 0048   4]        Flags (decoded below) : 00000001
                           Processor Enabled : 1
                      Runtime Online Capable : 0

[034h 0052   1]                Subtable Type : 00 [Processor Local APIC]
[035h 0053   1]                       Length : 08
[036h 0054   1]                 Processor ID : 01
[037h 0055   1]                Local Apic ID : 01
[038h 0056   4]        Flags (decoded below) : 00000001
                           Processor Enabled : 1
                      Runtime Online Capable : 0

[03Ch 0060   1]                Subtable Type : 00 [Processor Local APIC]
[03Dh 0061   1]                       Length : 08
[03Eh 0062   1]                 Processor ID : 02
[03Fh 0063   1]                Local Apic ID : 02
[040h 0064   4]        Flags (decoded below) : 00000002
                           Processor Enabled : 0
                      Runtime Online Capable : 1

[044h 0068   1]                Subtable Type : 09 [Processor Local x2APIC]
[045h 0069   1]                       Length : 10
[046h 0070   2]                     Reserved : 0000
[048h 0072   4]          Processor x2Apic ID : 00000100
[04Ch 0076   4]        Flags (decoded below) : 00000002
                           Processor Enabled : 0
[050h 0080   4]                Processor UID : 00000003

[054h 0084   1]                Subtable Type : 01 [I/O APIC]
[055h 0085   1]                       Length : 0C
[056h 0086   1]                  I/O Apic ID : 00
[057h 0087   1]                     Reserved : 00
[058h 0088   4]                      Address : FEC00000
[05Ch 0092   4]                    Interrupt : 00000000

[060h 0096   1]                Subtable Type : 02 [Interrupt Source Override]
[061h 0097   1]                       Length : 0A
[062h 0098   1]                          Bus : 00
[063h 0099   1]                       Source : 00
[064h 0100   4]                    Interrupt : 00000002
[068h 0104   2]        Flags (decoded below) : 0000
                                    Polarity : 0
                                Trigger Mode : 0

[06Ah 0106   1]                Subtable Type : 04 [Local APIC NMI]
[06Bh 0107   1]                       Length : 06
[06Ch 0108   1]                 Processor ID : FF
[06Dh 0109   2]        Flags (decoded below) : 0000
                                    Polarity : 0
                                Trigger Mode : 0
[06Fh 0111   1]         Interrupt Input LINT : 01

[070h 0112   1]                Subtable Type : 0A [Local x2APIC NMI]
[071h 0113   1]                       Length : 0C
[072h 0114   2]        Flags (decoded below) : 0000
                                    Polarity : 0
                                Trigger Mode : 0
[074h 0116   4]                Processor UID : FFFFFFFF
[078h 0120   1]         Interrupt Input LINT : 01
[079h 0121   3]                     Reserved : 000000

Raw Table Data: Length 124 (0x7C)

    0000: 41 50 49 43 7C 00 00 00 05 31 43 45 4C 4C 56 4D  // APIC|....1CELLVM
    0010: 43 56 4D 41 50 49 43 20 01 00 00 00 43 56 4D 4D  // CVMAPIC ....CVMM
    0020: 01 00 00 00 00 00 E0 FE 01 00 00 00 00 08 00 00  // ................
    0030: 01 00 00 00 00 08 01 01 01 00 00 00 00 08 02 02  // ................
    0040: 02 00 00 00 09 10 00 00 00 01 00 00 02 00 00 00  // ................
    0050: 03 00 00 00 01 0C 00 00 00 00 C0 FE 00 00 00 00  // ................
    0060: 02 0A 00 00 02 00 00 00 00 00 04 06 FF 00 00 01  // ................
    0070: 0A 0C 00 00 FF FF FF FF 01 00 00 00              // ............
