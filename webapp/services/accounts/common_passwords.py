"""Passwords of at least 8 characters that top the published lists of leaked passwords.

A modest check, not a strength meter: these are the first guesses of anyone
who tries passwords, so an account using one falls to the login rate limit's
first minutes. Compared case-insensitively.
"""
COMMON_PASSWORDS = frozenset(
    """
    12345678 123456789 1234567890 12345678910 0123456789 987654321 9876543210 87654321
    11111111 111111111 1111111111 00000000 000000000 0000000000 22222222 55555555 66666666 88888888 99999999
    11223344 12341234 12344321 12121212 123123123 123321123 147258369 123qweasd 1q2w3e4r 1q2w3e4r5t 1qaz2wsx
    password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa$$word passwort motdepasse
    qwertyui qwertyuiop qwerty123 qwerty12 qwerty1234 asdfghjk asdfghjkl zxcvbnm1 zaq12wsx qazwsxedc 1qazxsw2
    iloveyou iloveyou1 sunshine sunshine1 princess princess1 football football1 baseball basketball superman
    starwars trustno1 whatever welcome1 welcome123 letmein1 letmein123 changeme changeme1 computer internet
    abcd1234 abc12345 abcdefgh aa123456 a1234567 abcdefg1 administrator admin123 admin1234 adminadmin root1234
    michelle jennifer jordan23 liverpool chelsea1 arsenal1 charlie1 master12 mustang1 maverick dragon12 shadow12
    monkey12 freedom1 butterfly elephant chocolate cookie123 pokemon1 minecraft fuckyou1 hello123 hello1234
    secret12 secret123 access14 blink182 summer2024 summer2025 summer2026 winter2025 spring2026 autumn2026
    thingsnxt thingsnxt1 thingsnxt123 esp32esp32 arduino1 raspberry
    """.split()
)
